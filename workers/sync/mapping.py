"""YCLIENTS objects → rows of models/synced.py (typed columns + the raw object), and bulk upserts.

Times with an offset are converted to naive UTC; times without one (YCLIENTS' `date`, some payloads'
`datetime`) are read in the salon's timezone (models/company.py) first: 10:00 in Yekaterinburg is 05:00 UTC.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from zoneinfo import ZoneInfo

from peewee import (EXCLUDED, BigIntegerField, BooleanField, CharField, DateTimeField, IntegerField, TextField, chunked,
                    fn)

from models import json_text
from models.db import utcnow
from models.fields import JSONField
from models.synced import Client, Record, Service, ServiceCategory, Staff

CHUNK = 200  # rows per INSERT; well under SQLite's bound-parameter limit


UTC = dt.timezone.utc


def parse_time(value, tz: dt.tzinfo | None = None) -> dt.datetime | None:
    """An ISO 8601 time as naive UTC; None when absent or unreadable. A time without an offset
    ('YYYY-MM-DD HH:MM:SS') is salon-local: read in `tz` (UTC only when no timezone is known)."""
    if not value or not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz or UTC)
    return moment.astimezone(UTC).replace(tzinfo=None)


def zone(name: str | None) -> dt.tzinfo:
    """The IANA zone `name`, or UTC when it is empty or unknown (never raises on YCLIENTS data)."""
    try:
        return ZoneInfo(name) if name else UTC
    except (ValueError, KeyError, OSError):
        return UTC


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _money(value):
    try:
        return None if value is None or value == "" else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _text(value, limit=255) -> str:
    return ("" if value is None else str(value))[:limit]


def category_row(salon_id, item, now, tz=None):
    return {"salon_id": salon_id, "yclients_id": int(item["id"]), "data": item, "synced_at": now,
            "title": _text(item.get("title")), "weight": _int(item.get("weight"), 0)}


def service_row(salon_id, item, now, tz=None):
    return {"salon_id": salon_id, "yclients_id": int(item["id"]), "data": item, "synced_at": now,
            "category_id": _int(item.get("category_id")), "title": _text(item.get("title")),
            "price_min": _money(item.get("price_min")), "price_max": _money(item.get("price_max")),
            "duration": _int(item.get("duration")), "active": bool(_int(item.get("active"), 1))}


def staff_row(salon_id, item, now, tz=None):
    return {"salon_id": salon_id, "yclients_id": int(item["id"]), "data": item, "synced_at": now,
            "name": _text(item.get("name")), "specialization": _text(item.get("specialization")),
            "bookable": bool(item.get("bookable", True)), "fired": bool(_int(item.get("fired"), 0))}


def client_row(salon_id, item, now, tz=None):
    return {"salon_id": salon_id, "yclients_id": int(item["id"]), "data": item, "synced_at": now,
            "name": _text(item.get("name")), "phone": _text(item.get("phone"), 32),
            "email": _text(item.get("email")), "visits_count": _int(item.get("visits_count"), 0),
            "changed_at": parse_time(item.get("last_change_date"), tz), "deleted": bool(item.get("deleted", False))}


def record_row(salon_id, item, now, tz=None):
    client = item.get("client") or {}
    staff = item.get("staff") or {}
    return {"salon_id": salon_id, "yclients_id": int(item["id"]), "data": item, "synced_at": now,
            "staff_id": _int(item.get("staff_id"), _int(staff.get("id"))), "client_id": _int(client.get("id")),
            "datetime": parse_time(item.get("datetime"), tz) or parse_time(item.get("date"), tz),
            "seance_length": _int(item.get("seance_length")), "attendance": _int(item.get("attendance"), 0),
            "comment": _text(item.get("comment"), 10_000),
            "changed_at": parse_time(item.get("last_change_date"), tz), "deleted": bool(item.get("deleted", False))}


ENTITIES = {
    "service_categories": (ServiceCategory, category_row),
    "services": (Service, service_row),
    "staff": (Staff, staff_row),
    "clients": (Client, client_row),
    "records": (Record, record_row),
}


TIMED = (Client, Record)  # entities with changed_at: a stored newer change (a webhook) wins over a page


def _newer_wins(model):
    """ON CONFLICT ... WHERE: overwrite a stored row only when it is not newer than the incoming one.

    The incoming change time is the item's last_change_date, else `synced_at`, which the caller sets to
    when the page was FETCHED: a deletion (or update) applied by a webhook after that moment is newer than
    anything the page can say, so a full sync can never revive a record deleted after its page was read."""
    if model not in TIMED:
        return None
    return model.changed_at.is_null() | (model.changed_at <= fn.COALESCE(EXCLUDED.changed_at, EXCLUDED.synced_at))


def upsert(entity: str, salon_id: int, items: list, now: dt.datetime | None = None, tz=None) -> int:
    """Insert or update `items` keyed (salon_id, yclients_id); the caller holds the transaction.
    `now` should be when the items were fetched; `tz` is the salon's timezone for offset-less times."""
    model, to_row = ENTITIES[entity]
    # The two page-wide values in their stored form once, not per row (what peewee's db_value would make).
    salon_id, now = model.salon_id.db_value(salon_id), model.synced_at.db_value(now or utcnow())
    rows = {}
    for item in items:
        if isinstance(item, dict) and _int(item.get("id")) is not None:
            rows[int(item["id"])] = to_row(salon_id, item, now, tz)  # a page repeating an id keeps the last copy
    if not rows:
        return 0
    preserve = [f for f in model._meta.sorted_fields if f.name not in ("id", "salon_id", "yclients_id")]
    where = _newer_wins(model)
    for batch in chunked(list(rows.values()), CHUNK):
        if not _execute_prepared(model, batch, preserve, where):
            model.insert_many(batch).on_conflict(conflict_target=[model.salon_id, model.yclients_id],
                                                 preserve=preserve, where=where).execute()
    return len(rows)


# Field classes whose db_value leaves the values the row functions above make unchanged (int or None,
# str, bool, datetime or None): the prepared path skips them. tests/unit/workers/sync/test_mapping_upsert.py
# checks that promise for every entity. JSON goes through models.json_text (orjson); anything else
# (Decimal) through the field's own db_value.
AS_IS = (IntegerField, BigIntegerField, BooleanField, CharField, TextField, DateTimeField)


def converters(model) -> list[tuple[int, object]]:
    """(position, converter) for the columns of `model`'s prepared upsert that need one."""
    out = []
    for position, f in enumerate(f for f in model._meta.sorted_fields if f.name != "id"):
        if isinstance(f, JSONField):
            out.append((position, json_text.dumps))
        elif type(f) not in AS_IS:
            out.append((position, f.db_value))
    return out


def _values(model, fields, batch):
    """Each row as the tuple of its stored values, in `fields` order."""
    take = itemgetter(*[f.name for f in fields])
    convert = converters(model)
    if not convert:
        return [take(row) for row in batch]
    values = []
    for row in batch:
        value = list(take(row))
        for position, to_db in convert:
            value[position] = to_db(value[position])
        values.append(value)
    return values


def _execute_prepared(model, batch: list[dict], preserve, where=None) -> bool:
    """The same upsert as one statement prepared for ONE row and executed for all (SQLite `executemany`,
    PostgreSQL: COPY, workers/sync/pg_upsert.py). Building the SQL per value in peewee was ~80 % of the
    sync's storage time (docs/performance.md); False (use peewee's path) whenever the rows do not fit the
    template exactly."""
    fields = [f for f in model._meta.sorted_fields if f.name != "id"]
    names = {f.name for f in fields}
    if any(row.keys() != names for row in batch):
        return False
    db = model._meta.database
    sql, group = _statement(model, db, fields, batch[0], preserve, where)
    if sql is None:
        return False
    values = _values(model, fields, batch)
    cursor = db.cursor()
    if db.param != "%s":
        cursor.executemany(sql, values)
    else:
        from workers.sync import pg_upsert  # only here: SQLite deployments never load the PostgreSQL driver

        pg_upsert.execute(cursor, model, [f.column_name for f in fields], sql, group, values)
    return True


_STATEMENTS: dict = {}


def _statement(model, db, fields, row, preserve, where) -> tuple[str | None, str]:
    """The upsert's SQL for one row and its placeholder group, built by peewee once per model and database
    kind (it depends on neither the values nor the salon); (None, group) when it does not fit the template."""
    key = (model, type(db), db.param)
    if key not in _STATEMENTS:
        template = model.insert_many([tuple(row[f.name] for f in fields)], fields=fields).on_conflict(
            conflict_target=[model.salon_id, model.yclients_id], preserve=preserve, where=where)
        sql, params = template.sql()
        group = "(" + ", ".join([db.param] * len(fields)) + ")"
        _STATEMENTS[key] = (sql if len(params) == len(fields) and sql.count(group) == 1 else None, group)
    return _STATEMENTS[key]
