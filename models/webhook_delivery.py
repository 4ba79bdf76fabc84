"""Stored YCLIENTS webhook deliveries: written before the 2xx, processed once by `process_webhook`."""
from __future__ import annotations

from peewee import BigIntegerField, CharField, DateTimeField, TextField

from models.base import BaseModel
from models.db import utcnow
from models.fields import JSONField

LIFECYCLE = "lifecycle"
DATA = "data"

# Outcomes (empty while unprocessed).
APPLIED = "applied"          # the event changed our state
NOOP = "noop"                # the state already was what the event asks for (a repeat)
DUPLICATE = "duplicate"      # identical to what is stored already (YCLIENTS repeats deliveries, I-19)
STALE = "stale"              # older than what is stored (out of order)
SUPERSEDED = "superseded"    # the salon was re-installed after this delivery was received
IGNORED = "ignored"          # not for us: unknown resource or event, unknown or uninstalled salon
OUTCOMES = (APPLIED, NOOP, DUPLICATE, STALE, SUPERSEDED, IGNORED)


class WebhookDelivery(BaseModel):
    salon_id = BigIntegerField(null=True, index=True)
    kind = CharField(max_length=16)  # lifecycle | data
    event = CharField(max_length=64, default="")  # lifecycle: uninstall | freeze | ...
    resource = CharField(max_length=64, default="")  # data: record | client | ...
    status = CharField(max_length=32, default="")  # data: create | update | delete
    resource_id = BigIntegerField(null=True)
    auth = CharField(max_length=16, default="")  # how its origin was proven: partner_token | webhook_key
    body_hash = CharField(max_length=64, index=True)  # sha256 of the canonical body (partner token removed)
    body = JSONField(default=dict)  # the parsed body, never with the partner token
    received_at = DateTimeField(default=utcnow, index=True)
    requeued_at = DateTimeField(null=True)  # last time the sweep re-enqueued it
    processed_at = DateTimeField(null=True, index=True)
    outcome = CharField(max_length=16, default="")
    detail = TextField(default="")


# The columns a new delivery is written with, in the order of the tuples `insert_batch` takes.
NEW_COLUMNS = ("salon_id", "kind", "event", "resource", "status", "resource_id", "auth", "body_hash", "body",
               "received_at", "outcome", "detail")


def new_row(*, salon_id: int, kind: str, event: str, resource: str, status: str, resource_id: int | None,
            auth: str, body_hash: str, body_json: str, received_at) -> tuple:
    """One delivery as `insert_batch` stores it; `body_json` is the body already encoded (the canonical JSON)."""
    return (salon_id, kind, event, resource, status, resource_id, auth, body_hash, body_json,
            WebhookDelivery.received_at.db_value(received_at), "", "")


def insert_batch(connection, rows: list[tuple], *, sqlite: bool) -> list[int]:
    """Insert `rows` (from `new_row`) in ONE transaction on a raw DB-API `connection`; their ids, in order.

    All or nothing: any error rolls the whole batch back and is raised. SQLite: BEGIN IMMEDIATE (the write
    lock up front, no upgrade deadlock), one INSERT per row (in-process, cheap) for its exact rowid.
    PostgreSQL: the ids are drawn from the table's sequence first, then one multi-row INSERT, then COMMIT."""
    table = WebhookDelivery._meta.table_name
    columns = ", ".join(NEW_COLUMNS)
    cursor = connection.cursor()
    if sqlite:
        sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(NEW_COLUMNS))})"
        cursor.execute("BEGIN IMMEDIATE")
        try:
            ids = []
            for row in rows:
                cursor.execute(sql, row)
                ids.append(cursor.lastrowid)
            cursor.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                cursor.execute("ROLLBACK")
            raise
        return ids
    from psycopg2.extras import execute_values

    try:
        cursor.execute("BEGIN")
        cursor.execute(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)",
                       (len(rows),))
        ids = [row[0] for row in cursor.fetchall()]
        execute_values(cursor, f"INSERT INTO {table} (id, {columns}) VALUES %s",
                       [(i, *row) for i, row in zip(ids, rows)], page_size=max(100, len(rows)))
        cursor.execute("COMMIT")
    except BaseException:
        try:
            cursor.execute("ROLLBACK")  # autocommit connection: the driver's rollback() would do nothing
        except Exception:
            pass  # a broken connection rolls back on the server; the writer drops it
        raise
    return ids
