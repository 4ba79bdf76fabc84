"""The full sync: exact data, checkpoints that resume without gaps or duplicates, one sync per salon."""
import datetime as dt

import pytest

from models import salon as S
from models.synced import Client, Record, Service, ServiceCategory, Staff
from models.sync_run import DONE, RUNNING, SyncRun
from sandbox.yclients.data import Catalog
from sandbox.yclients.digest import checksum, salon_digest
from tests.fakes.digest import db_digest
from tests.fakes.pipeline import catalog_salon, deps_for, make_salon
from workers.sync.salon_sync import records_window, sync_salon
from workers.sync.lease import Lease
from workers.sync.mapping import upsert
from runtime.yclients.errors import PermanentError
from runtime.yclients.stub import StubYclients


@pytest.fixture
def small():
    return Catalog().get(962302)


def crashing_after(pages, small):
    api = catalog_salon(small)
    api.crash_after_pages = pages  # the worker is killed at the next page call
    return api


def expected(settings, small):
    return salon_digest(small, *records_window(settings))


def test_a_full_sync_stores_exactly_the_salon(settings, database, redis_client, small):
    make_salon(state=S.ACTIVE)
    deps = deps_for(settings, database, redis_client, catalog_salon(small))
    assert sync_salon(962302, "full", deps, progress_interval=0) == "done"
    assert db_digest(962302) == expected(settings, small)
    run = SyncRun.get()
    assert run.status == DONE and run.counts["records"] == 4000 and run.counts["clients"] == 1400
    sync = deps.live.snapshot(962302)["data"]["sync"]
    assert sync["status"] == "done" and sync["counts"]["services"] == 45


def test_a_sync_killed_mid_way_resumes_to_the_same_exact_result(settings, database, redis_client, small):
    make_salon(state=S.ACTIVE)
    crashing = deps_for(settings, database, redis_client, crashing_after(12, small), message_id="m1")
    with pytest.raises(KeyboardInterrupt):
        sync_salon(962302, "full", crashing)
    run = SyncRun.get()
    assert run.status == RUNNING and run.checkpoints["clients"]["status"] == "done"
    assert run.checkpoints["records"]["page"] == 6  # 7 client pages + 5 record pages committed
    assert Record.select().count() == 5 * 150
    # The crashed worker's lease is still there; the redelivered message (same id) takes it back.
    api = catalog_salon(small)
    assert sync_salon(962302, "full", deps_for(settings, database, redis_client, api, message_id="m1")) == "done"
    assert api.page_calls == 27 - 5  # only the records pages not yet stored
    assert db_digest(962302) == expected(settings, small)
    assert SyncRun.select().count() == 1


def test_a_sync_stops_at_its_time_budget_and_the_next_run_continues(settings, database, redis_client, small):
    make_salon(state=S.ACTIVE)
    ticks = iter(range(10_000))
    deps = deps_for(settings, database, redis_client, catalog_salon(small))
    assert sync_salon(962302, "full", deps, budget=5, clock=lambda: next(ticks)) == "continue"
    outcomes = []
    while not outcomes or outcomes[-1] == "continue":
        outcomes.append(sync_salon(962302, "full", deps, budget=5, clock=lambda: next(ticks)))
    assert outcomes[-1] == "done" and len(outcomes) > 2
    assert db_digest(962302) == expected(settings, small)


def test_one_sync_per_salon_at_a_time(settings, database, redis_client, small):
    make_salon(state=S.ACTIVE)
    Lease(redis_client, "sync:962302", owner="someone-else").acquire()
    api = catalog_salon(small)
    assert sync_salon(962302, "full", deps_for(settings, database, redis_client, api)) == "busy"
    assert api.page_calls == 0


def test_pagination_follows_total_count_not_the_page_size(settings, database, redis_client, small):
    make_salon(state=S.ACTIVE)
    api = catalog_salon(small)  # records come 150 per page though we ask for 200
    sync_salon(962302, "full", deps_for(settings, database, redis_client, api))
    assert Record.select().count() == 4000  # a size-based stop would have ended after page 1


def test_a_permanent_error_fails_the_run(settings, database, redis_client, small):
    from workers.sync.salon_sync import SyncFailed

    make_salon(state=S.ACTIVE)

    class Refusing(StubYclients):
        def clients_page(self, salon_id, page):
            raise PermanentError("402", status=402, message="Payment Required")

    deps = deps_for(settings, database, redis_client, catalog_salon(small, Refusing()))
    with pytest.raises(SyncFailed):
        sync_salon(962302, "full", deps)
    assert SyncRun.get().status == "failed"
    assert deps.live.snapshot(962302)["data"]["sync"]["status"] == "failed"


def test_sync_skips_a_salon_that_is_not_active(settings, database, redis_client, small):
    make_salon(state=S.UNINSTALLED)
    assert sync_salon(962302, "full", deps_for(settings, database, redis_client, catalog_salon(small))) == "skipped"


def test_progress_events_are_throttled(settings, database, redis_client, small):
    make_salon(state=S.ACTIVE)
    deps = deps_for(settings, database, redis_client, catalog_salon(small))
    seq0 = deps.live.snapshot(962302)["seq"]
    sync_salon(962302, "full", deps, progress_interval=60)
    published = deps.live.snapshot(962302)["seq"] - seq0
    # 33 saved pages/lists; throttled: each entity's first and final event, plus `done`.
    assert published <= 2 * 6 + 1


def test_upsert_updates_in_place_and_keeps_the_row(database, small):
    record = small.record(0)
    upsert("records", 962302, [record])
    first = Record.get()
    upsert("records", 962302, [{**record, "comment": "изменено"}])
    assert Record.select().count() == 1
    again = Record.get()
    assert again.id == first.id and again.comment == "изменено"
    assert again.datetime == dt.datetime.fromisoformat(record["datetime"]).astimezone(dt.timezone.utc).replace(
        tzinfo=None)


def test_an_incremental_sync_reads_records_changed_after_the_last_full_sync(settings, database, redis_client, small):
    make_salon(state=S.ACTIVE)
    seen = []

    class Recording(StubYclients):
        def records_page(self, salon_id, page, start_date, end_date, changed_after=None):
            seen.append(changed_after)
            return super().records_page(salon_id, page, start_date, end_date, changed_after)

    deps = deps_for(settings, database, redis_client, catalog_salon(small, Recording()))
    sync_salon(962302, "full", deps)
    seen.clear()
    assert sync_salon(962302, "incremental", deps) == "done"
    run = SyncRun.select().order_by(SyncRun.id.desc()).first()
    assert run.kind == "incremental" and list(run.checkpoints) == ["records"]
    assert seen and all(value and value.endswith("+00:00") for value in seen)


def test_a_full_sync_flags_rows_yclients_no_longer_has_as_deleted(settings, database, redis_client, small):
    make_salon(state=S.ACTIVE)
    old = dt.datetime(2020, 1, 1)
    start, end = records_window(settings)
    inside = dt.datetime.fromisoformat(start) + dt.timedelta(days=10)
    outside = dt.datetime.fromisoformat(end) + dt.timedelta(days=5)
    Client.create(salon_id=962302, yclients_id=1, synced_at=old)
    Record.create(salon_id=962302, yclients_id=1, datetime=inside, synced_at=old)
    Record.create(salon_id=962302, yclients_id=2, datetime=outside, synced_at=old)
    Record.create(salon_id=1, yclients_id=3, datetime=inside, synced_at=old)  # another salon
    sync_salon(962302, "full", deps_for(settings, database, redis_client, catalog_salon(small)))
    assert Client.get(Client.yclients_id == 1).deleted is True
    assert Record.get(Record.yclients_id == 1).deleted is True
    assert Record.get(Record.yclients_id == 2).deleted is False  # outside the window: never asked for
    assert Record.get(Record.yclients_id == 3).deleted is False
    assert SyncRun.get().counts["records"] == 4001  # the 4000 synced plus the one outside the window


def test_a_first_sync_reads_records_around_the_salons_own_today_not_yclients_default_one(settings, database,
                                                                                         redis_client, monkeypatch):
    """20:30 UTC: still 2 December in Moscow (YCLIENTS' default zone, all we know before the card), already
    3 December in Yekaterinburg. The records window is the salon's: around the 3rd (this failed every evening)."""
    from sandbox.yclients.data import URAL
    from workers.sync import company

    monkeypatch.setattr(company, "utcnow", lambda: dt.datetime(2026, 12, 2, 20, 30))
    ural = Catalog().get(URAL)
    make_salon(salon_id=URAL, state=S.ACTIVE)
    assert sync_salon(URAL, "full", deps_for(settings, database, redis_client, catalog_salon(ural))) == "done"
    window = records_window(settings, dt.date(2026, 12, 3))
    records = SyncRun.get().checkpoints["records"]
    assert (records["start_date"], records["end_date"]) == window
    assert db_digest(URAL)["checksums"]["records"] == salon_digest(ural, *window)["checksums"]["records"]
