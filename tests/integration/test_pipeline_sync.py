"""The full sync end to end: exact data, resume after a SIGKILL, and the shared budget across workers."""
import pytest

from models import salon as S
from models.salon import Salon
from models.sync_run import DONE, SyncRun
from tests.integration.pipeline_stack import Stack
from tests.support import wait_for
from tests.fakes.digest import db_digest
from workers.sync.salon_sync import records_window

pytestmark = pytest.mark.integration

SMALL = 962302


def active(salon_id):
    Salon.create(salon_id=salon_id, state=S.ACTIVE, whatsapp_phone="79001234567", whatsapp_state=S.WA_CONNECTED)


def run_of(database, salon_id):
    database.connect(reuse_if_open=True)
    return SyncRun.select().where(SyncRun.salon_id == salon_id).order_by(SyncRun.id.desc()).first()


def sync_done(database, salon_id):
    run = run_of(database, salon_id)
    return run is not None and run.status == DONE


def test_a_full_sync_of_the_small_salon_stores_exactly_the_sandbox_data(services, settings, database):
    stack = Stack(services, settings)
    active(SMALL)
    stack.worker()
    stack.jobs.send("sync_salon", SMALL, "full")
    wait_for(lambda: sync_done(database, SMALL), timeout=120, message=f"sync done\n{stack.logs()}")
    expected = stack.digest(SMALL, *records_window(stack.settings))
    assert expected["counts"] == {"service_categories": 7, "services": 45, "staff": 10, "clients": 1400,
                                  "records": 4000}
    assert db_digest(SMALL) == expected
    assert run_of(database, SMALL).counts == expected["counts"]


def test_a_sync_killed_mid_way_resumes_to_the_same_exact_result(services, settings, database):
    stack = Stack(services, settings)
    stack.faults(latency_ms=80)
    active(SMALL)
    first = stack.worker("first")
    stack.jobs.send("sync_salon", SMALL, "full")

    def some_records_stored():
        run = run_of(database, SMALL)
        return run is not None and run.checkpoints.get("records", {}).get("page", 1) >= 4

    wait_for(some_records_stored, timeout=120, interval=0.02, message=f"records started\n{stack.logs()}")
    first.kill()  # SIGKILL mid-page: no cleanup, the lease and the message are left behind
    first.process.wait(10)
    stored = run_of(database, SMALL).checkpoints["records"]
    assert stored["status"] == "running" and 0 < stored["done"] < 4000
    stack.faults(latency_ms=0)
    stack.worker("second")  # the broker redelivers the dead worker's message; it resumes from the checkpoint
    wait_for(lambda: sync_done(database, SMALL), timeout=120, message=f"resumed sync\n{stack.logs()}")
    assert db_digest(SMALL) == stack.digest(SMALL, *records_window(stack.settings))
    assert SyncRun.select().where(SyncRun.salon_id == SMALL).count() == 1


def test_two_workers_syncing_two_salons_never_exceed_the_budget(services, settings, database):
    # 962302 needs 31 requests and 970002 needs 11: more than a minute's budget, so the minute window bites.
    stack = Stack(services, settings, rate_limit="10/s,30/min")
    active(SMALL)
    active(970002)
    stack.worker("a", queues=("sync",), threads=1)
    stack.worker("b", queues=("sync",), threads=1)
    stack.jobs.send("sync_salon", SMALL, "full")
    stack.jobs.send("sync_salon", 970002, "full")
    wait_for(lambda: sync_done(database, SMALL) and sync_done(database, 970002), timeout=150,
             message=f"both syncs\n{stack.logs()}")
    stats = stack.stats()
    print("sandbox stats:", stats)
    assert stats["total"] >= 42
    assert stats["max_per_1s"] <= 10, stats
    assert stats["max_per_60s"] <= 30, stats
    assert stats["rejected_429"] == 0, stats
    window = records_window(stack.settings)
    assert db_digest(SMALL) == stack.digest(SMALL, *window)
    assert db_digest(970002) == stack.digest(970002, *window)
