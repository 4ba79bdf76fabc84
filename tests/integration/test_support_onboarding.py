"""Support after an onboarding, over real processes: the redirect through gunicorn (2 workers), the
activation and full sync by a Dramatiq worker against the YCLIENTS sandbox over HTTP, then
`aiadmin status --json` against the database and `/metrics` (one multiprocess directory per host).

The WhatsApp link is played the way the bridge records it (phone + state in the salon row, then
`on_whatsapp_connected`); the welcome is left queued, as no bridge consumes the outbound queue here.
"""
import json
import subprocess

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from models import salon as S
from models.db import utcnow
from models.salon import Salon
from models.sync_run import SyncRun
from sandbox.yclients.signing import demo_user, signed_user_data
from tests.integration.pipeline_stack import Stack
from tests.onboarding_support import open_redirect, press_connect
from tests.support import BIN, ROOT, free_port, settings_env, wait_for
from workers.support.status import entity_counts

pytestmark = pytest.mark.integration


def fresh(database):
    """Re-open the test's connection so it sees what the worker processes committed."""
    database.close()
    database.connect()

SALON = 962302
PHONE = "79001234567"


def metric_values(text):
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def aiadmin(settings, *argv):
    env = {**settings_env(settings), "PATH": str(BIN)}
    return subprocess.run([str(BIN / "aiadmin"), *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


def test_status_matches_the_database_and_metrics_count_the_redirect_and_the_activation(
        services, settings, database, tmp_path):
    stack = Stack(services, settings)
    metrics_env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    port = free_port()
    web = services("web", [str(BIN / "gunicorn"), "--worker-class", "gthread", "--workers", "2", "--threads", "4",
                           "--bind", f"127.0.0.1:{port}", "web:create_app()"], stack.settings, env=metrics_env)
    worker = services("worker", [str(BIN / "dramatiq"), "workers.main", "--skip-logging", "--processes", "1",
                                 "--threads", "2", "--queues", "interactive", "onboarding", "sync"],
                      stack.settings,
                      env={**metrics_env, "dramatiq_worker_timeout": "100"})
    base = f"http://127.0.0.1:{port}"
    web.wait_http(f"{base}/healthz")

    # 1. «Подключить» in the YCLIENTS sandbox, then the marketplace redirect (the worker has YCLIENTS confirm it).
    redirect_url = press_connect(stack.sandbox_url, (SALON,)).replace(settings.public_base_url, base)
    answer = open_redirect(requests.Session(), redirect_url, allow_redirects=False)
    assert answer.status_code == 302, answer.text[:500]
    user_data, sign = signed_user_data(demo_user("KULTURA Малаховка"), settings.yclients_partner_token)
    bad = requests.get(f"{base}/auth/yclients/redirect", params={"salon_id": SALON, "user_data": user_data,
                                                                  "user_data_sign": "0" * 64},
                       allow_redirects=False, timeout=10)
    assert bad.status_code == 403

    # 2. WhatsApp linked, as the bridge records it; the worker activates and syncs.
    fresh(database)
    Salon.update(whatsapp_state=S.WA_CONNECTED, whatsapp_phone=PHONE, whatsapp_connected_at=utcnow()).where(
        Salon.salon_id == SALON).execute()
    stack.jobs.send("on_whatsapp_connected", SALON)

    def synced():
        fresh(database)
        run = SyncRun.select().where(SyncRun.salon_id == SALON).order_by(SyncRun.id.desc()).first()
        return run is not None and run.status == "done"

    wait_for(synced, timeout=120, interval=0.5, message=f"activation and sync\n{worker.log()[-3000:]}")

    # 3. `aiadmin status --json` says what the database holds.
    result = aiadmin(stack.settings, "status", str(SALON), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    fresh(database)
    salon = Salon.get_by_id(SALON)
    run = SyncRun.select().where(SyncRun.salon_id == SALON).order_by(SyncRun.id.desc()).first()
    assert report["salon_id"] == SALON and report["state"] == salon.state == S.ACTIVE
    assert report["whatsapp"]["state"] == "connected" and report["whatsapp"]["phone"] == "7900***67"
    assert PHONE not in result.stdout
    assert report["activation"]["status"] == "done"
    assert report["counts"] == entity_counts(SALON)
    assert report["counts"]["clients"] > 0 and report["counts"]["records"] > 0
    assert report["last_sync"]["id"] == run.id and report["last_sync"]["status"] == "done"
    assert report["last_sync"]["duration_seconds"] == round((run.finished_at - run.started_at).total_seconds(), 3)
    assert report["welcome_sent"] is (salon.welcome_sent_at is not None)
    assert report["open_failures"] == 0

    # 4. /metrics on web aggregates both gunicorn workers and the Dramatiq worker of this host.
    scraped = requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {settings.health_token}"},
                           timeout=10)
    assert scraped.status_code == 200
    values = metric_values(scraped.text)
    assert values[("aiadmin_redirects_total", (("outcome", "ok"),))] == 1
    assert values[("aiadmin_redirects_total", (("outcome", "bad_signature"),))] == 1
    assert values[("aiadmin_activations_total", (("outcome", "done"),))] == 1
    assert values[("aiadmin_activation_seconds_count", ())] == 1
    assert values[("aiadmin_syncs_total", (("outcome", "done"),))] == 1
    assert values[("aiadmin_sync_rows_total", ())] == sum(report["counts"].values())
    assert values[("aiadmin_yclients_requests_total", (("status", "200"),))] > 0
    assert ("aiadmin_queue_depth", (("queue", "whatsapp"),)) in values  # start_whatsapp_session waits there
