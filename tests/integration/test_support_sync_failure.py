"""A sync failing on the YCLIENTS sandbox shows up in `aiadmin status --json` (a real CLI process, a real worker
process) with `last_error` and `next_retry_at` within 60 s, long before its retries run out."""
import json
import subprocess
import time

import pytest

from models import salon as S
from models.salon import Salon
from tests.integration.pipeline_stack import Stack
from tests.support import BIN, ROOT, settings_env

pytestmark = pytest.mark.integration

SALON = 962302


def status(env) -> dict:
    result = subprocess.run([str(BIN / "aiadmin"), "status", str(SALON), "--json"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_failing_sync_shows_its_last_error_and_next_retry_within_60_seconds(services, settings, database):
    stack = Stack(services, settings)
    Salon.create(salon_id=SALON, state=S.ACTIVE, whatsapp_state=S.WA_CONNECTED, whatsapp_phone="79001234567")
    stack.faults(error_rate=1.0)  # every data request answers 500
    stack.worker(queues=("sync",))
    env = {**settings_env(stack.settings), "PATH": str(BIN)}
    started = time.monotonic()
    stack.jobs.send("sync_salon", SALON, "full")
    report = None
    while time.monotonic() - started < 60:
        report = status(env)
        if report["last_error"] and report["next_retry_at"]:
            break
        time.sleep(1)
    else:
        pytest.fail(f"no last_error/next_retry_at within 60 s: {report}\n{stack.logs()}")
    [attempt] = [a for a in report["retries"] if a["actor"] == "sync_salon"]
    assert attempt["attempt"] >= 1 and attempt["max_attempts"] == 9 and not attempt["gave_up"]
    assert "500" in report["last_error"] and report["last_error"].startswith("sync_salon attempt ")
    assert report["next_retry_at"] == attempt["next_retry_at"] and report["next_retry_at"] > attempt["failed_at"]
    assert report["last_sync"]["status"] == "running"  # the run itself is still open: it will be retried
    stack.faults(error_rate=0.0)  # YCLIENTS recovers: the next retry succeeds and the record is cleared
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        report = status(env)
        if report["last_sync"]["status"] == "done":
            break
        time.sleep(2)
    assert report["last_sync"]["status"] == "done", stack.logs()
    assert report["retries"] == [] and report["next_retry_at"] is None
