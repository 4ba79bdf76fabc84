"""`aiadmin resync SALON_ID --wait` against a real worker and the YCLIENTS sandbox: progress, then exit 0."""
import subprocess

import pytest

from models import salon as S
from models.salon import Salon
from models.sync_run import SyncRun
from tests.integration.pipeline_stack import Stack
from tests.support import BIN, ROOT, settings_env

pytestmark = pytest.mark.integration


def fresh(database):
    """Re-open the test's connection so it sees what the worker processes committed."""
    database.close()
    database.connect()

SALON = 962302


def test_resync_wait_shows_progress_and_exits_0_when_the_sync_is_done(services, settings, database):
    stack = Stack(services, settings)
    Salon.create(salon_id=SALON, state=S.ACTIVE, whatsapp_state=S.WA_CONNECTED, whatsapp_phone="79001234567")
    stack.worker(queues=("sync",))
    env = {**settings_env(stack.settings), "PATH": str(BIN)}
    result = subprocess.run([str(BIN / "aiadmin"), "resync", str(SALON), "--wait", "--timeout", "120"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr, stack.logs())
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"full sync of salon {SALON} enqueued")
    assert any("clients" in line and "%" in line for line in lines), result.stdout
    assert lines[-1] == "sync done"
    fresh(database)
    run = SyncRun.select().where(SyncRun.salon_id == SALON).order_by(SyncRun.id.desc()).first()
    assert run.status == "done" and run.kind == "full"
