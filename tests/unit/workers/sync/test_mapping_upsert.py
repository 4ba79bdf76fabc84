"""The sync's prepared upsert (one statement, executemany / execute_values) stores exactly what peewee's
per-row SQL stores, inserting and then updating, for every entity; and it is the path actually taken."""
import datetime as dt

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
