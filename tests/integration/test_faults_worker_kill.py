"""Fault: the worker is SIGKILLed in the middle of an onboarding's full sync (real processes end to end).

What protects us: Dramatiq acknowledges a message only when it is done, and our broker's short heartbeat
timeout with frequent maintenance (runtime/broker.py) hands a dead worker's messages to a live one within
seconds; the sync commits each page with its checkpoint in one transaction and upserts on
(salon_id, yclients_id); the activation is skipped once the salon is active and the welcome row's
unique key makes a second send impossible.
"""
import time

import pytest

from models.outbound import OutboundMessage
from models.sync_run import SyncRun
from tests.integration.faults_stack import SALON, faulty_stack
from tests.support import wait_for
from tests.fakes.digest import db_digest
from workers.sync.salon_sync import records_window

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RECOVERY_BUDGET_S = 60


def test_a_worker_killed_mid_sync_is_replaced_and_the_onboarding_ends_exact_with_one_activation_and_welcome(
        migrated_db_url, database):
    with faulty_stack(migrated_db_url, database) as f:
        f.start()
        f.sandbox_faults(latency_ms=600)  # slow answers: the sync is still running when the welcome is out
        f.redirect()
        f.wait_live("qr")
        f.scan()
        wait_for(lambda: len(f.sent()) == 1, timeout=90, interval=0.2, message=f"welcome sent\n{f.logs()}")

        def records_half_way():
            run = f.run()
            point = (run.checkpoints or {}).get("records", {}) if run else {}
            return run is not None and run.status == "running" and point.get("page", 1) >= 3

        wait_for(records_half_way, timeout=90, interval=0.05, message=f"records under way\n{f.logs()}")
        f.s.kill("worker")  # SIGKILL to the process group: no cleanup, message unacknowledged, lease left behind
        killed_at = time.monotonic()
        stored = f.run().checkpoints["records"]
        assert stored["status"] == "running" and 0 < stored["done"] < 4000, stored
        f.worker("replacement")

        def resumed():
            point = f.run().checkpoints.get("records", {})
            return point.get("done", 0) > stored["done"] or f.sync_done()

        wait_for(resumed, timeout=RECOVERY_BUDGET_S + 30, interval=0.2, message=f"resumed\n{f.logs()}")
        recovery = time.monotonic() - killed_at
        print(f"sync resumed {recovery:.1f}s after SIGKILL")
        assert recovery <= RECOVERY_BUDGET_S, f"the dead worker's sync came back after {recovery:.1f}s"

        wait_for(f.sync_done, timeout=120, interval=0.3, message=f"sync done\n{f.logs()}")
        window = records_window(f.settings)
        expected = f.digest(SALON, *window)
        assert expected["counts"]["records"] == 4000 and expected["counts"]["clients"] == 1400
        f.fresh()
        assert db_digest(SALON) == expected  # no gap, no duplicate, same content
        assert SyncRun.select().where(SyncRun.salon_id == SALON).count() == 1  # resumed, not restarted
        # Let anything left over run out, then count what the outside world saw.
        wait_for(lambda: all(f.redis.llen(f"dramatiq:{q}") == 0 for q in ("onboarding", "sync", "outbound")),
                 timeout=30, message="queues drained")
        time.sleep(1.0)
        assert len(f.activations()) == 1, f.activations()
        assert len(f.sent()) == 1, f.sent()
        assert OutboundMessage.select().count() == 1
        salon = f.salon()
        assert salon.state == "active" and salon.welcome_sent_at is not None
