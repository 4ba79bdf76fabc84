"""A sync failed by the YCLIENTS sandbox's fault injection appears in `aiadmin failed --json`, is
re-queued by `aiadmin requeue`, and completes (real worker, sandbox over HTTP, real Redis and database)."""
import json
import subprocess

import pytest

from models import salon as S
from models.failure import Failure
from models.salon import Salon
from models.sync_run import SyncRun
from tests.integration.pipeline_stack import Stack
from tests.support import BIN, ROOT, settings_env, wait_for

pytestmark = pytest.mark.integration


def fresh(database):
    """Re-open the test's connection so it sees what the worker processes committed."""
    database.close()
    database.connect()

SALON = 962302


def aiadmin(settings, *argv):
    env = {**settings_env(settings), "PATH": str(BIN)}
    result = subprocess.run([str(BIN / "aiadmin"), *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_sync_failed_by_fault_injection_is_requeued_and_completes(services, settings, database, redis_client):
    stack = Stack(services, settings)
    Salon.create(salon_id=SALON, state=S.ACTIVE, whatsapp_state=S.WA_CONNECTED, whatsapp_phone="79001234567")
    stack.faults(error_rate=1.0)  # YCLIENTS answers every data request with a 500
    worker = stack.worker(queues=("sync",))
    # Production retries a sync for minutes; the same message with a short retry budget keeps the test fast.
    stack.jobs.send_with_options("sync_salon", args=(SALON, "full"), max_retries=1, min_backoff=100,
                                 max_backoff=200)

    def failed_syncs():
        return [row for row in json.loads(aiadmin(stack.settings, "failed", "--json", "--salon", str(SALON)))
                if row["actor"] == "sync_salon"]

    [row] = wait_for(failed_syncs, timeout=90, interval=0.5, message=f"the failed sync\n{stack.logs()}")
    assert row["status"] == "open" and row["attempts"] == 2 and row["args"] == [SALON, "full"]
    assert "500" in row["error"]
    wait_for(lambda: redis_client.zcard("dramatiq:sync.XQ") == 1, timeout=10, message="the dead letter")

    stack.faults(error_rate=0.0)  # YCLIENTS is back
    out = aiadmin(stack.settings, "requeue", str(row["id"]))
    assert f"re-queued failure {row['id']} (sync_salon)" in out

    def done():
        fresh(database)
        run = SyncRun.select().where(SyncRun.salon_id == SALON).order_by(SyncRun.id.desc()).first()
        return run is not None and run.status == "done"

    wait_for(done, timeout=120, interval=0.5, message=f"the re-queued sync to complete\n{stack.logs()}")
    wait_for(lambda: Failure.get_by_id(row["id"]).status == "resolved", timeout=20, message="resolved")
    assert redis_client.zcard("dramatiq:sync.XQ") == 0
    assert failed_syncs() == []
    status = json.loads(aiadmin(stack.settings, "status", str(SALON), "--json"))
    assert status["last_sync"]["status"] == "done" and status["counts"]["clients"] > 0
    assert status["open_failures"] == 0
