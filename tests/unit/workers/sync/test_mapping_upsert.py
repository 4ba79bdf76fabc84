"""The sync's prepared upsert (one statement, executemany / execute_values) stores exactly what peewee's
per-row SQL stores, inserting and then updating, for every entity; and it is the path actually taken."""
import datetime as dt
import json

import pytest

from sandbox.yclients.data import Catalog
from workers.sync import mapping
from workers.sync.mapping import ENTITIES, upsert

SALON_DATA = Catalog(anchor=dt.date(2026, 11, 1)).get(962302)
NOW = dt.datetime(2026, 11, 2, 12, 0, 0, 123456)


def items(entity, changed=False):
    if entity == "clients":
        rows = [SALON_DATA.client(i) for i in range(450)]
    elif entity == "records":
        rows = [SALON_DATA.record(i) for i in range(450)]
    else:
        rows = list(getattr(SALON_DATA, entity)())
    if changed:
        rows = [{**row, "comment": "изменено", "name": "Новое имя", "title": "Новое"} for row in rows]
    return rows


def stored(entity, salon_id):
    model = ENTITIES[entity][0]
    skip = ("id", "salon_id")
    return sorted((tuple(getattr(r, f.name) for f in model._meta.sorted_fields if f.name not in skip)
                   for r in model.select().where(model.salon_id == salon_id)), key=lambda t: t[0])


@pytest.mark.parametrize("entity", list(ENTITIES))
def test_prepared_upsert_equals_peewee_path(entity, database, monkeypatch):
    taken = []
    real = mapping._execute_prepared
    monkeypatch.setattr(mapping, "_execute_prepared", lambda *a: taken.append(real(*a)) or taken[-1])
    with database.atomic():
        upsert(entity, 1, items(entity), NOW)
        upsert(entity, 1, items(entity, changed=True), NOW + dt.timedelta(hours=1))
    assert taken and all(taken)

    monkeypatch.setattr(mapping, "_execute_prepared", lambda *a: False)  # peewee's own SQL for every row
    with database.atomic():
        upsert(entity, 2, items(entity), NOW)
        upsert(entity, 2, items(entity, changed=True), NOW + dt.timedelta(hours=1))
    assert stored(entity, 1) == stored(entity, 2)
    assert len(stored(entity, 1)) == len({i["id"] for i in items(entity)})


# Items the generated salons never contain: NULLs and missing fields, unicode and escapes, nested values,
# money as strings and zero, times with and without an offset, floats, large ids, a repeated id.
ODD = {
    "clients": [
        {"id": 1, "name": None, "phone": None, "email": None, "visits_count": None, "last_change_date": None},
        {"id": "2", "name": "Ёлка «Ü» \"кавычки\" \\ \n\t\r 😀\u2028 \\N", "phone": "+7 (900) 000-00-00",
         "email": "x@пример.рф", "visits_count": "7", "last_change_date": "2026-11-01T10:00:00Z",
         "spent": 1234.5, "discount": 1e-07, "custom": {"nested": [1, None, True, {"a": "б"}], "f": 1e16}},
        {"id": 3, "name": "x" * 400, "last_change_date": "2026-11-01 10:00:00", "deleted": True},
        {"id": 9_007_199_254_740_993, "name": "large id"},
        {"id": 4, "name": "the first copy of a repeated id", "spent": 0.00001},
        {"id": "4", "name": "the last copy of a repeated id wins", "spent": 2.5e-05},
        {"id": None, "name": "no id: skipped"},
    ],
    "records": [
        {"id": 10, "datetime": "2026-11-01T10:00:00+05:00", "last_change_date": "2026-11-01T10:00:00.5+03:00",
         "client": None, "staff": {"id": "5"}, "seance_length": "3600", "attendance": None, "comment": None},
        {"id": 11, "date": "2026-11-01 10:00:00", "client": {"id": 42}, "comment": "комментарий " * 50,
         "services": [{"cost": 1500.5, "title": "Стрижка"}], "deleted": False},
        {"id": 12, "datetime": "not a time", "staff_id": "not a number", "deleted": True},
    ],
    "services": [
        {"id": 20, "price_min": "1500.50", "price_max": 0, "duration": None, "active": "0", "title": "Ü"},
        {"id": 21, "price_min": None, "price_max": "abc", "active": None},
        {"id": 22, "price_min": 99.999, "price_max": 1e3, "category_id": "7"},
    ],
    "staff": [{"id": 30, "name": None, "bookable": False, "fired": "1"}, {"id": 31}],
    "service_categories": [{"id": 40, "title": None, "weight": "x"}, {"id": 41, "title": "Ü" * 300, "weight": 3}],
}


def raw(entity, salon_id, database):
    """The stored columns as the database returns them (JSON text, the driver's own types), by yclients_id."""
    model = ENTITIES[entity][0]
    columns = ", ".join(f'"{f.column_name}"' for f in model._meta.sorted_fields if f.name not in ("id", "salon_id"))
    cursor = database.execute_sql(f'SELECT {columns} FROM "{model._meta.table_name}" WHERE salon_id = {salon_id} '
                                  "ORDER BY yclients_id")
    return [tuple(row) for row in cursor.fetchall()]


@pytest.mark.parametrize("entity", list(ODD))
def test_odd_items_store_the_same_columns_and_json_text_on_both_paths(entity, database, monkeypatch):
    tz = mapping.zone("Asia/Yekaterinburg")
    taken = []
    real = mapping._execute_prepared
    monkeypatch.setattr(mapping, "_execute_prepared", lambda *a: taken.append(real(*a)) or taken[-1])
    with database.atomic():
        upsert(entity, 1, ODD[entity], NOW, tz)
    assert taken and all(taken)
    monkeypatch.setattr(mapping, "_execute_prepared", lambda *a: False)
    with database.atomic():
        upsert(entity, 2, ODD[entity], NOW, tz)
    prepared, peewee = raw(entity, 1, database), raw(entity, 2, database)
    assert prepared == peewee  # byte for byte: the raw JSON text, times, decimals, NULLs, unicode
    assert [json.loads(row[1]) for row in prepared] == [json.loads(row[1]) for row in peewee]
    assert len(prepared) == len({str(i["id"]) for i in ODD[entity] if i["id"] is not None})


@pytest.mark.parametrize("entity", list(ENTITIES))
def test_columns_the_prepared_path_does_not_convert_are_already_in_stored_form(entity):
    """mapping.AS_IS: peewee's db_value would return every such value unchanged (same value, same type)."""
    model, to_row = ENTITIES[entity]
    skipped = {position for position, _ in mapping.converters(model)}
    fields = [f for f in model._meta.sorted_fields if f.name != "id"]
    tz = mapping.zone("Europe/Moscow")
    checked = 0
    for item in items(entity) + [i for i in ODD[entity] if i["id"] is not None]:
        row = to_row(1, item, NOW, tz)
        for position, field in enumerate(fields):
            if position in skipped:
                continue
            value = row[field.name]
            assert field.db_value(value) == value and type(field.db_value(value)) is type(value), field.name
            checked += 1
    assert checked


def test_json_text_matches_the_json_field():
    from models.fields import JSONField
    from models.json_text import dumps, loads

    values = [item for rows in ODD.values() for item in rows] + [
        {"when": dt.datetime(2026, 1, 2, 3, 4, 5), "day": dt.date(2026, 1, 2), "money": __import__("decimal").Decimal("1.50")},
        {1: "non-string key"}, {"huge": 2 ** 70}, [], {}, "text", 0, None]
    for value in values:
        assert dumps(value) == JSONField().db_value(value)
    assert loads(b'{"a": [1, 2.5, "\xd1\x8f"]}') == {"a": [1, 2.5, "я"]}
    assert loads('{"a": NaN}')["a"] != loads('{"a": NaN}')["a"]  # json's reading where orjson refuses
    with pytest.raises(ValueError):
        loads(b"<html>")


def spy_on_paths(monkeypatch, pg_upsert) -> list:
    """The names of the PostgreSQL upsert paths taken, in order (each still does its work)."""
    taken = []
    for name in ("_copy_upsert", "_json_upsert"):
        real = getattr(pg_upsert, name)
        monkeypatch.setattr(pg_upsert, name, lambda *a, real=real, name=name: taken.append(name) or real(*a))
    return taken


def test_postgresql_copies_the_page_and_every_fallback_stores_the_same_rows(database, monkeypatch):
    """COPY into a temporary table (the default), the JSON parameter (no TEMP privilege) and execute_values
    (a time with an offset) store what peewee's own SQL stores, odd items included."""
    if database.param != "%s":
        pytest.skip("PostgreSQL only")
    from workers.sync import pg_upsert

    taken = spy_on_paths(monkeypatch, pg_upsert)
    batch = items("records") + ODD["records"]
    with database.atomic():
        upsert("records", 1, batch, NOW)  # 453 rows: three statements in one transaction, the temp table emptied
        upsert("records", 1, items("records", changed=True), NOW + dt.timedelta(hours=1))  # each time
    assert taken == ["_copy_upsert"] * 6
    monkeypatch.setitem(pg_upsert._MAY_USE_TEMP, database.connection().dsn, False)
    with database.atomic():
        upsert("records", 2, batch, NOW)
        upsert("records", 2, items("records", changed=True), NOW + dt.timedelta(hours=1))
    assert taken[6:] == ["_json_upsert"] * 6
    monkeypatch.setattr(mapping, "_execute_prepared", lambda *a: False)  # peewee's own SQL
    with database.atomic():
        upsert("records", 3, batch, NOW)
        upsert("records", 3, items("records", changed=True), NOW + dt.timedelta(hours=1))
    assert raw("records", 1, database) == raw("records", 2, database) == raw("records", 3, database)
    assert len(raw("records", 1, database)) == len(batch)


def test_postgresql_falls_back_to_execute_values_for_a_time_with_an_offset(database, monkeypatch):
    if database.param != "%s":
        pytest.skip("PostgreSQL only")
    from workers.sync import pg_upsert

    taken = []
    monkeypatch.setattr(pg_upsert, "_copy_upsert", lambda *a: taken.append("copy"))
    monkeypatch.setattr(pg_upsert, "_json_upsert", lambda *a: taken.append("json"))
    aware = NOW.replace(tzinfo=dt.timezone(dt.timedelta(hours=3)))
    with database.atomic():
        upsert("records", 1, items("records"), aware)
    assert taken == [] and len(raw("records", 1, database)) == 450
    monkeypatch.setattr(mapping, "_execute_prepared", lambda *a: False)
    with database.atomic():
        upsert("records", 2, items("records"), aware)
    assert raw("records", 1, database) == raw("records", 2, database)


def test_copy_text_escapes_what_copy_reads_specially():
    from workers.sync.pg_upsert import copy_text

    row = (None, True, False, 7, "a\\b\tc\nd\re", "plain", dt.datetime(2026, 1, 2, 3, 4, 5, 6))
    assert copy_text([row, row[:1]]) == ("\\N\tTrue\tFalse\t7\ta\\\\b\\tc\\nd\\re\tplain\t2026-01-02 03:04:05.000006\n"
                                       "\\N\n")


def test_postgresql_outside_a_transaction_upserts_in_one_statement(database, monkeypatch):
    """Autocommit: COPY and the upsert would be two transactions (the temporary rows gone in between)."""
    if database.param != "%s":
        pytest.skip("PostgreSQL only")
    from workers.sync import pg_upsert

    taken = spy_on_paths(monkeypatch, pg_upsert)
    upsert("records", 1, items("records")[:10], NOW)
    assert taken == ["_json_upsert"] and len(raw("records", 1, database)) == 10
