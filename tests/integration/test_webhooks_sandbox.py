"""Data webhooks sent by the YCLIENTS sandbox (its CLI) to the per-salon URL our activation registered:
accepted on the key URL without a partner token (I-31), applied by the real worker; a wrong key is refused."""
import subprocess
import sys

import pytest
import requests

from models import salon as s
from models.salon import Salon
from models.synced import Client, Record
from models.webhook_delivery import WebhookDelivery
from tests.support import BIN, ROOT, free_port, wait_for

pytestmark = pytest.mark.integration

SALON = 962302  # the sandbox's small salon
KEY = "ab" * 24


@pytest.fixture
def stack(services, settings, database):
    web_port, sandbox_port = free_port(), free_port()
    settings = settings.replace(public_base_url=f"http://127.0.0.1:{web_port}")
    web = services("web", [str(BIN / "gunicorn"), "--worker-class", "gthread", "--workers", "1", "--threads", "8",
                           "--bind", f"127.0.0.1:{web_port}", "web:create_app()"], settings)
    sandbox = services("yclients-sandbox", [str(BIN / "python"), "-m", "sandbox.yclients", "serve", "--port",
                                            str(sandbox_port)], settings)
    worker = services("worker", [str(BIN / "dramatiq"), "workers.main", "--skip-logging", "--processes", "1",
                                 "--threads", "2", "--queues", "webhooks"], settings,
                      env={"dramatiq_worker_timeout": "100"})
    web.wait_http(f"http://127.0.0.1:{web_port}/healthz")
    sandbox.wait_http(f"http://127.0.0.1:{sandbox_port}/healthz")
    Salon.create(salon_id=SALON, state=s.ACTIVE, api_key="c" * 32, webhook_key=KEY)
    # What our activation sends (workers/onboarding/activation.py): webhook_urls under PUBLIC_BASE_URL with the key.
    answer = requests.post(f"http://127.0.0.1:{sandbox_port}/marketplace/partner/callback/redirect",
                           headers={"Authorization": f"Bearer {settings.yclients_partner_token}"},
                           json={"salon_id": SALON, "application_id": settings.yclients_app_id,
                                 "api_key": "c" * 32,
                                 "webhook_urls": [f"{settings.public_base_url}/webhook/yclients/{KEY}"]},
                           allow_redirects=False, timeout=10)
    assert answer.status_code == 301, answer.text
    return {"sandbox": f"http://127.0.0.1:{sandbox_port}", "web": settings.public_base_url, "worker": worker}


def cli(stack, *args):
    return subprocess.run([sys.executable, "-m", "sandbox.yclients", "webhook", *args, "--sandbox", stack["sandbox"]],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def all_processed():
    return WebhookDelivery.select().where(WebhookDelivery.processed_at.is_null()).count() == 0


def test_sandbox_data_webhooks_reach_the_salon_through_its_key_url(stack):
    created = cli(stack, "record", "create", "--salon", str(SALON), "--comment", "из песочницы")
    assert created.returncode == 0, created.stdout + created.stderr
    assert cli(stack, "client", "update", "--salon", str(SALON), "--id", str(SALON * 1_000_000 + 5)).returncode == 0
    wait_for(lambda: WebhookDelivery.select().count() == 2 and all_processed(), timeout=30,
             message=f"processed\n{stack['worker'].log()[-2000:]}")
    assert {d.auth for d in WebhookDelivery.select()} == {"webhook_key"}
    record = Record.get(Record.salon_id == SALON)
    assert record.comment == "из песочницы" and record.deleted is False
    assert Client.get(Client.salon_id == SALON).name.endswith("(изм.)")

    deleted = cli(stack, "record", "delete", "--salon", str(SALON), "--id", str(record.yclients_id))
    assert deleted.returncode == 0
    wait_for(lambda: Record.get_by_id(record.id).deleted, timeout=30, message="record deleted")


def test_a_webhook_to_another_key_is_refused_and_stored_nowhere(stack):
    forged = cli(stack, "record", "update", "--salon", str(SALON), "--id", str(SALON * 10_000_000 + 1),
                 "--url", f"{stack['web']}/webhook/yclients/{'cd' * 24}")
    assert forged.returncode == 1 and '"status": 403' in forged.stdout
    assert WebhookDelivery.select().count() == 0 and Record.select().count() == 0
