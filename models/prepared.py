"""A model's one-row INSERT as SQL text built by peewee once per (model, columns, engine); then only the values
change. Peewee rebuilds the statement from its query tree on every call: for the redirect's salon and timeline
rows that was ~0.6 ms of CPU per new salon (docs/performance/redirect.md). The values still go through each
field's `db_value`, exactly as peewee's own insert converts them."""
from __future__ import annotations

_STATEMENTS: dict[tuple, str] = {}


def insert(model, row: dict, *, ignore_conflict: bool = False) -> int:
    """`model.insert(row)[.on_conflict_ignore()].as_rowcount().execute()`: `row` maps field names to values
    and must hold every field that has a default (a model instance's `__data__` does). The row count."""
    database = model._meta.database
    engine = getattr(database, "obj", database)  # the proxy's database: SQLite and PostgreSQL differ
    names = tuple(row)
    key = (model, names, ignore_conflict, type(engine))
    fields = [model._meta.fields[name] for name in names]
    sql = _STATEMENTS.get(key)
    if sql is None:
        query = model.insert_many([[row[name] for name in names]], fields=fields)
        # No RETURNING (peewee adds the key on PostgreSQL): the caller gets the row count, nothing to fetch.
        sql, params = (query.on_conflict_ignore() if ignore_conflict else query).returning().sql()
        if len(params) != len(names):  # peewee added a default column: the statement would not fit the values
            raise ValueError(f"{model.__name__} insert without {len(params) - len(names)} defaulted field(s)")
        _STATEMENTS[key] = sql
    return database.execute_sql(sql, [field.db_value(row[name]) for name, field in zip(names, fields)]).rowcount
