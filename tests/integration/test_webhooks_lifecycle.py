"""Lifecycle webhooks end to end: gunicorn web + Dramatiq worker + the WAHA simulator + Redis + the DB.

freeze stops the gateway session and keeps its credentials, so a re-install reconnects without a QR;
uninstall deletes the session (credentials gone: a re-install needs a new QR) and clears the api_key;
uninstall -> re-install -> uninstall applies both uninstalls. A forged token changes nothing.
"""
import pytest
import requests

from runtime.gateway.naming import session_name
from runtime.gateway.waha import WahaClient
from models import salon as s
from models.db import utcnow
from models.salon import Salon
from models.timeline import TimelineEvent
from models.webhook_delivery import WebhookDelivery
from tests.support import BIN, free_port, wait_for
from runtime.broker import build_broker
from runtime.jobs import Jobs

pytestmark = pytest.mark.integration

SALON = 962302
NAME = session_name(SALON)


@pytest.fixture
def stack(services, settings, database):
    sim_port, web_port = free_port(), free_port()
    settings = settings.replace(waha_url=f"http://127.0.0.1:{sim_port}",
                                bridge_public_url=f"http://127.0.0.1:{free_port()}")  # nobody listens: fine
    sim = services("whatsapp-sim", [str(BIN / "python"), "-m", "sandbox.whatsapp", "serve", "--port", str(sim_port)],
                   settings)
    web = services("web", [str(BIN / "gunicorn"), "--worker-class", "gthread", "--workers", "1", "--threads", "8",
                           "--bind", f"127.0.0.1:{web_port}", "web:create_app()"], settings)
    worker = services("worker", [str(BIN / "dramatiq"), "workers.main", "--skip-logging", "--processes", "1",
                                 "--threads", "4", "--queues", "webhooks", "whatsapp"], settings,
                      env={"dramatiq_worker_timeout": "100"})
    sim.wait_http(f"http://127.0.0.1:{sim_port}/api/sessions")
    web.wait_http(f"http://127.0.0.1:{web_port}/healthz")
    waha = WahaClient(settings.waha_url, settings.waha_api_key, webhook_url=settings.bridge_public_url,
                      webhook_secret=settings.waha_webhook_secret, timeout=5)
    return {"settings": settings, "waha": waha, "sim": f"http://127.0.0.1:{sim_port}", "worker": worker,
            "url": f"http://127.0.0.1:{web_port}/webhook/yclients", "jobs": Jobs(build_broker(settings))}


def linked_active_salon(stack):
    Salon.create(salon_id=SALON, state=s.ACTIVE, api_key="a" * 32, webhook_key="k" * 40,
                 whatsapp_state=s.WA_CONNECTED)
    assert stack["waha"].ensure_session(SALON).status == "SCAN_QR_CODE"
    requests.post(f"{stack['sim']}/_sim/{NAME}/scan", json={"phone": "79001234567"}, timeout=5).raise_for_status()
    assert gateway_status(stack) == "WORKING"


def gateway_status(stack):
    sessions = {x["name"]: x["status"] for x in requests.get(
        f"{stack['sim']}/api/sessions", params={"all": "true"},
        headers={"X-Api-Key": stack["settings"].waha_api_key}, timeout=5).json()}
    return sessions.get(NAME)


def send(stack, event, token=None):
    settings = stack["settings"]
    body = {"salon_id": SALON, "application_id": settings.yclients_app_id, "event": event,
            "partner_token": settings.yclients_partner_token if token is None else token}
    return requests.post(stack["url"], json=body, timeout=5)


def state():
    return Salon.get_by_id(SALON).state


def processed():
    return WebhookDelivery.select().where(WebhookDelivery.processed_at.is_null()).count() == 0


def reinstall(stack):
    """What the marketplace redirect does for a frozen/uninstalled salon (issue 3): back to
    pending_whatsapp, then start_whatsapp_session."""
    Salon.update(state=s.PENDING_WHATSAPP, registered_at=utcnow()).where(Salon.salon_id == SALON).execute()
    stack["jobs"].send("start_whatsapp_session", SALON)


def test_freeze_keeps_credentials_so_a_reinstall_reconnects_without_a_qr(stack):
    linked_active_salon(stack)
    assert send(stack, "freeze").status_code == 200
    wait_for(lambda: state() == s.FROZEN, timeout=20, message=f"frozen\n{stack['worker'].log()[-2000:]}")
    assert gateway_status(stack) == "STOPPED"
    assert Salon.get_by_id(SALON).api_key == "a" * 32
    reinstall(stack)
    wait_for(lambda: gateway_status(stack) == "WORKING", timeout=20,
             message=f"reconnected\n{stack['worker'].log()[-2000:]}")  # no scan happened


def test_uninstall_deletes_the_session_so_a_reinstall_needs_a_new_qr_and_a_second_uninstall_applies(stack):
    linked_active_salon(stack)
    assert send(stack, "uninstall", token="forged").status_code == 403
    assert send(stack, "uninstall").status_code == 200
    wait_for(lambda: state() == s.UNINSTALLED and processed(), timeout=20,
             message=f"uninstalled\n{stack['worker'].log()[-2000:]}")
    assert gateway_status(stack) is None  # deleted, with its credentials
    assert Salon.get_by_id(SALON).api_key is None

    reinstall(stack)
    wait_for(lambda: gateway_status(stack) == "SCAN_QR_CODE", timeout=20, message="a new QR")
    wait_for(lambda: state() == s.PENDING_WHATSAPP, timeout=5, message="pending")
    assert send(stack, "uninstall").status_code == 200  # the same body as the first one (I-30)
    wait_for(lambda: state() == s.UNINSTALLED and processed(), timeout=20, message="uninstalled again")
    assert gateway_status(stack) is None
    kinds = [e.kind for e in TimelineEvent.select().where(TimelineEvent.salon_id == SALON)
             .order_by(TimelineEvent.id)]
    assert kinds.count("uninstalled") == 2
    assert [d.outcome for d in WebhookDelivery.select().order_by(WebhookDelivery.id)] == ["applied", "applied"]
