"""Every log line of a real onboarding, from every process we run, is scanned for secrets and phone numbers.

Real processes: gunicorn web and bridge relay, a Dramatiq worker on every queue, the YCLIENTS sandbox and the
WhatsApp simulator over HTTP, a real Redis and database. The flow: signed redirect -> one-time link -> cookie
-> QR -> pairing code requested from the page -> code entered on the "phone" -> connected -> activation
(api_key, partner token) -> full sync -> welcome sent -> lifecycle and data webhooks (and forged ones). Then
no partner token, api key, webhook key, JWT, JWT/HMAC secret, gateway key or full phone number may appear."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest
import requests

from models import salon as S
from models.live import LiveStatus
from models.outbound import OutboundMessage
from models.salon import Salon
from models.webhook_delivery import WebhookDelivery
from sandbox.yclients.signing import demo_user, signed_user_data
from tests.integration.pipeline_stack import Stack
from tests.onboarding_support import open_redirect, press_connect
from tests.support import BIN, ROOT, free_port, wait_for
from web.marketplace import session

pytestmark = pytest.mark.integration

SALON = 962302
INSTALLER_PHONE = "79161234567"  # the YCLIENTS user's own phone, from the signed user_data
SALON_PHONE = "79001112233"  # the salon's WhatsApp, typed on the page as 8 (900) 111-22-33


def fresh(database):
    database.close()
    database.connect()


@pytest.mark.parametrize("log_format", ["text", "json"])  # json is what production writes
def test_a_full_onboarding_logs_no_secret_and_no_full_phone_number(services, settings, database, redis_client,
                                                                   log_format):
    stack = Stack(services, settings)
    log_env = {"LOG_JSON": "1" if log_format == "json" else ""}
    sim_port, bridge_port, web_port = free_port(), free_port(), free_port()
    sim_url, bridge_url, base = (f"http://127.0.0.1:{p}" for p in (sim_port, bridge_port, web_port))
    cfg = stack.settings.replace(waha_url=sim_url, bridge_public_url=bridge_url, public_base_url=base)
    sim = services("whatsapp-sim", [sys.executable, "-m", "sandbox.whatsapp", "serve", "--port", str(sim_port)], cfg)
    bridge = services("bridge", [str(BIN / "gunicorn"), "--threads", "4", "--bind", f"127.0.0.1:{bridge_port}",
                                 "bridge.relay:create_app()"], cfg, env=log_env)
    web = services("web", [str(BIN / "gunicorn"), "--worker-class", "gthread", "--workers", "1", "--threads", "8",
                           "--bind", f"127.0.0.1:{web_port}", "web:create_app()"], cfg, env=log_env)
    worker = services("worker", [str(BIN / "dramatiq"), "workers.main", "--skip-logging", "--processes", "1",
                                 "--threads", "4"], cfg, env={"dramatiq_worker_timeout": "100", **log_env})
    for proc, url in ((sim, sim_url), (bridge, bridge_url), (web, base)):
        proc.wait_http(url + "/healthz")
    ours = (web, bridge, worker)

    def logs():
        return "\n".join(f"--- {p.name}\n{p.log()}" for p in ours)

    live = LiveStatus(redis_client)

    def slot(name):
        return wait_for(lambda: live.snapshot(SALON)["data"][name], timeout=30, interval=0.2,
                        message=f"{name}\n{logs()[-4000:]}")

    # 1. The signed redirect, the one-time link and the session cookie.
    user = {**demo_user("KULTURA Малаховка"), "phone": INSTALLER_PHONE, "email": "owner@example.com"}
    user_data, sign = signed_user_data(user, cfg.yclients_partner_token)
    browser = requests.Session()
    press_connect(stack.sandbox_url, (SALON,))  # YCLIENTS now has the install pending (the worker checks it)
    answer = open_redirect(browser, f"{base}/auth/yclients/redirect", allow_redirects=False,
                           params={"salon_id": SALON, "user_data": user_data, "user_data_sign": sign})
    assert answer.status_code == 302, answer.text[:300]
    link = answer.headers["Location"].split("token=", 1)[1]
    assert browser.get(f"{base}/marketplace/onboarding?token={link}", timeout=10).status_code == 200
    session_token = browser.cookies[session.COOKIE]
    # Abuse along the way: a forged redirect, a reused link from another browser, a forged cookie.
    assert requests.get(f"{base}/auth/yclients/redirect", timeout=10, allow_redirects=False,
                        params={"salon_id": SALON, "user_data": user_data, "user_data_sign": "0" * 64}).status_code == 403
    assert requests.get(f"{base}/marketplace/onboarding?token={link}", timeout=10).status_code == 409
    assert requests.get(f"{base}/marketplace/status", cookies={session.COOKIE: session_token[:-4] + "AAAA"},
                        timeout=10).status_code == 401

    # 2. The QR, then linking by pairing code requested from the page.
    slot("qr")
    assert browser.post(f"{base}/marketplace/pairing-code", json={"phone": "8 (900) 111-22-33"},
                        timeout=10).status_code == 202
    code = slot("pairing_code")["code"]
    entered = subprocess.run([sys.executable, "-m", "sandbox.whatsapp", "enter-code", f"salon_{SALON}", code,
                              "--url", sim_url], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert entered.returncode == 0, entered.stderr

    # 3. Activation, sync and welcome, on their own.
    def done():
        fresh(database)
        salon = Salon.get_or_none(Salon.salon_id == SALON)
        return salon is not None and salon.state == S.ACTIVE and salon.welcome_sent_at is not None and \
            live.snapshot(SALON)["data"]["sync"] and live.snapshot(SALON)["data"]["sync"]["status"] == "done"

    wait_for(done, timeout=120, interval=0.5, message=f"onboarding to complete\n{logs()[-6000:]}")
    fresh(database)
    salon = Salon.get_by_id(SALON)
    assert salon.whatsapp_phone == SALON_PHONE and salon.api_key and salon.webhook_key
    assert OutboundMessage.select().where(OutboundMessage.salon_id == SALON).count() == 1

    # 4. Webhooks: genuine ones on both URLs, and forged ones.
    record = {"resource": "record", "status": "update", "company_id": SALON, "resource_id": 555,
              "data": {"id": 555, "client": {"id": 1, "name": "Клиент", "phone": "+7 (916) 765-43-21"}}}
    assert requests.post(f"{base}/webhook/yclients/{salon.webhook_key}", json=record, timeout=10).status_code == 200
    assert requests.post(f"{base}/webhook/yclients", timeout=10, json={
        "salon_id": SALON, "application_id": cfg.yclients_app_id, "event": "freeze",
        "partner_token": cfg.yclients_partner_token}).status_code == 200
    assert requests.post(f"{base}/webhook/yclients", timeout=10, json={
        "salon_id": SALON, "event": "uninstall", "partner_token": cfg.yclients_partner_token + "x"}).status_code == 403
    assert requests.post(f"{base}/webhook/yclients/{salon.webhook_key[:-1]}x", json=record,
                         timeout=10).status_code == 403
    wait_for(lambda: fresh(database) or WebhookDelivery.select().where(
        WebhookDelivery.processed_at.is_null()).count() == 0, timeout=60, message=f"webhooks\n{logs()[-4000:]}")

    # 5. The scan.
    output = logs()
    # The scan read real logs of every step, not empty files.
    for seen in ("registration recorded", "activated", "SCAN_QR_CODE", "webhook refused", "-> applied"):
        assert seen in output, seen
    secrets = {
        "partner token": cfg.yclients_partner_token, "api key": salon.api_key, "webhook key": salon.webhook_key,
        "link JWT": link, "session JWT": session_token, "JWT secret": cfg.jwt_secret,
        "WAHA HMAC secret": cfg.waha_webhook_secret, "WAHA api key": cfg.waha_api_key,
        "health token": cfg.health_token,
    }
    for what, value in secrets.items():
        assert value and value not in output, f"the {what} is in the logs"
    assert not re.search(r"eyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]{10,}", output), "a JWT is in the logs"
    digits_only = re.sub(r"[\s()+\-]", "", output)
    for phone in (INSTALLER_PHONE, SALON_PHONE, "79167654321"):
        for form in (phone, phone[1:]):  # 7XXXXXXXXXX and the bare 10 digits (8…/+7… formats normalise to it)
            assert form not in digits_only, f"a full phone number ({form[:4]}…) is in the logs"
