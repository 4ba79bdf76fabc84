"""The page upsert on PostgreSQL: the rows reach the server as COPY data, not as SQL.

psycopg2's `execute_values` quotes every value into a 200-row VALUES list: `mogrify` per row was the
largest client cost and parsing that literal SQL a large server one (docs/performance/sync-storage.md). Here a
page is COPYed into a temporary table (text format: the cheapest thing PostgreSQL reads) and moved
by ONE `WITH page AS (DELETE FROM tmp RETURNING ...) INSERT ... SELECT ... ON CONFLICT ...`: the same
upsert statement, same conflict target, same newer-wins condition, and the temporary table is empty
again after every statement, whatever else the transaction holds.

Fallbacks, each storing the same rows: a JSON array as one parameter (`json_populate_recordset`) when
the role may not create temporary tables or no transaction is open (autocommit: it is one statement); `execute_values` when a time carries an offset (psycopg2
converts it, the text forms would drop it) or an integer is beyond what orjson writes.
"""
from __future__ import annotations

import datetime as dt
import io

import orjson

_ROW_TYPES: dict = {}
_MAY_USE_TEMP: dict = {}


def execute(cursor, model, columns: list[str], sql: str, group: str, values: list) -> None:
    """Run `sql` (peewee's one-row upsert, `group` its VALUES placeholders) for every row of `values`."""
    values_clause = "VALUES " + group
    if values_clause in sql and not any(isinstance(v, dt.datetime) and v.tzinfo for v in values[0]):
        # (an offset can only come with the page-wide synced_at: the row functions make naive UTC times)
        if _in_transaction(cursor) and _may_use_temp(cursor):
            _copy_upsert(cursor, model, columns, sql, values_clause, values)
            return
        if _json_upsert(cursor, model, columns, sql, values_clause, values):
            return
    from psycopg2.extras import execute_values

    execute_values(cursor, sql.replace(group, "%s"), values, page_size=len(values))


def _copy_upsert(cursor, model, columns, sql, values_clause, values) -> None:
    table = _row_type(cursor, model)
    temp = f"aiadmin_page_{model._meta.table_name}"
    quoted = ", ".join(f'"{name}"' for name in columns)
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {temp} ON COMMIT DELETE ROWS AS "
                   f"SELECT {quoted} FROM {table} WITH NO DATA")
    cursor.copy_expert(f"COPY {temp} ({quoted}) FROM STDIN", io.StringIO(copy_text(values)))
    cursor.execute(f"WITH page AS (DELETE FROM {temp} RETURNING {quoted}) "
                   + sql.replace(values_clause, f"SELECT {quoted} FROM page"))


def _json_upsert(cursor, model, columns, sql, values_clause, values) -> bool:
    try:
        payload = orjson.dumps([dict(zip(columns, value)) for value in values], default=str)
    except (orjson.JSONEncodeError, TypeError):
        return False
    quoted = ", ".join(f'"{name}"' for name in columns)
    select = f"SELECT {quoted} FROM json_populate_recordset(NULL::{_row_type(cursor, model)}, %s)"
    cursor.execute(sql.replace(values_clause, select), (payload.decode(),))
    return True


def _escape(text: str) -> str:
    """COPY's text format reads a backslash, tab, newline and carriage return specially: escape them."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def copy_text(values) -> str:
    """Rows in COPY's text format: \\N for NULL, `str` for the rest (True/False, numbers, Decimal, naive
    datetimes as 'YYYY-MM-DD HH:MM:SS[.ffffff]' all read back as the same values), strings escaped."""
    lines = []
    for row in values:
        fields = ["\\N" if v is None else _escape(v) if isinstance(v, str) else v for v in row]
        lines.append("\t".join(map(str, fields)))
    lines.append("")
    return "\n".join(lines)


def _row_type(cursor, model) -> str:
    """The table's row type, schema-qualified: a bare `record` is PostgreSQL's pseudo-type, not our table."""
    key = (cursor.connection.dsn, model._meta.table_name)
    if key not in _ROW_TYPES:
        cursor.execute("SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c "
                       "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)",
                       (f'"{model._meta.table_name}"',))
        _ROW_TYPES[key] = cursor.fetchone()[0]
    return _ROW_TYPES[key]


def _in_transaction(cursor) -> bool:
    """COPY and the upsert from the temporary table must share a transaction: outside one (autocommit)
    the COPYed rows would be gone (ON COMMIT DELETE ROWS) before the upsert reads them."""
    from psycopg2.extensions import TRANSACTION_STATUS_INTRANS

    return cursor.connection.info.transaction_status == TRANSACTION_STATUS_INTRANS


def _may_use_temp(cursor) -> bool:
    """Whether this role may create temporary tables here (granted to PUBLIC unless revoked)."""
    key = cursor.connection.dsn
    if key not in _MAY_USE_TEMP:
        cursor.execute("SELECT has_database_privilege(current_database(), 'TEMP')")
        _MAY_USE_TEMP[key] = bool(cursor.fetchone()[0])
    return _MAY_USE_TEMP[key]
