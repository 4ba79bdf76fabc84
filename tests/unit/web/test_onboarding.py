"""The onboarding page, its token exchange, the polling status and the page's two commands."""
from __future__ import annotations

import time

import pytest

from models import salon as s
from models.salon import Salon
from models.sync_run import SyncRun
from tests.fakes.onboarding import ReopeningClient, signed_query
from web import create_app
from tests.support import container_for
from web.marketplace import session, tokens

PAGE = "/marketplace/onboarding"


@pytest.fixture
def client(app, database):
    return ReopeningClient(app.test_client(), database)


def new_client(app):
    return ReopeningClient(app.test_client(), app.extensions["aiadmin"].database)


def link(settings, salon_ids=(962302,), **kw):
    return tokens.issue(settings.jwt_secret, tokens.LINK, salon_ids, 42, **kw)


def signed_in(app, settings, salon_ids=(962302,)):
    c = new_client(app)
    response = c.get(f"{PAGE}?token={link(settings, salon_ids)}")
    assert response.status_code == 302
    return c


def test_the_link_is_exchanged_once_for_an_httponly_lax_cookie_and_a_clean_url(client, settings):
    Salon.create(salon_id=962302, title="KULTURA Малаховка")
    response = client.get(f"{PAGE}?token={link(settings)}")
    assert response.status_code == 302 and response.headers["Location"] == PAGE
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(session.COOKIE + "=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development over http; production sets it (next test)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    value = cookie.split(";")[0].split("=", 1)[1]
    assert tokens.verify(settings.jwt_secret, value, tokens.SESSION).salon_ids == (962302,)
    page = client.get(PAGE)
    assert page.status_code == 200 and "KULTURA Малаховка" in page.get_data(as_text=True)


def test_the_cookie_is_secure_in_production(settings, database, redis_client, jobs, live):
    prod = settings.replace(app_env="production")
    app = create_app(prod, container=container_for(settings=prod, database=database, redis=redis_client, jobs=jobs,
                                              live=live))
    response = new_client(app).get(f"{PAGE}?token={link(settings)}")
    assert "Secure" in response.headers["Set-Cookie"]


def test_a_reused_link_in_another_browser_gets_a_friendly_page(app, settings):
    token = link(settings)
    assert new_client(app).get(f"{PAGE}?token={token}").status_code == 302
    again = new_client(app).get(f"{PAGE}?token={token}")
    body = again.get_data(as_text=True)
    assert again.status_code == 409 and "уже использована" in body and "Подключить" in body
    assert "Set-Cookie" not in again.headers


def test_the_same_browser_reloading_the_link_just_goes_to_its_page(app, settings):
    c = new_client(app)
    token = link(settings)
    c.get(f"{PAGE}?token={token}")
    assert c.get(f"{PAGE}?token={token}").headers["Location"] == PAGE


def test_an_expired_link_explains_how_to_restart(client, settings):
    old = link(settings, now=time.time() - tokens.LINK_TTL - 10)
    response = client.get(f"{PAGE}?token={old}")
    body = response.get_data(as_text=True)
    assert response.status_code == 401 and "Срок действия ссылки истёк" in body and "маркетплейс" in body


@pytest.mark.parametrize("token", ["garbage", "eyJhbGciOiJub25lIn0.eyJ0eXAiOiJvbmJvYXJkaW5nX2xpbmsifQ."])
def test_a_forged_link_is_refused(client, token):
    response = client.get(f"{PAGE}?token={token}")
    assert response.status_code == 401 and "Недействительная ссылка" in response.get_data(as_text=True)


def test_a_session_token_cannot_be_used_as_a_link(client, settings):
    session_token = tokens.issue(settings.jwt_secret, tokens.SESSION, [962302], 42)
    assert client.get(f"{PAGE}?token={session_token}").status_code == 401


def test_the_page_without_a_session_says_where_to_start(client):
    response = client.get(PAGE)
    assert response.status_code == 401 and "маркетплейс" in response.get_data(as_text=True)


def test_an_expired_session_cookie_is_refused_with_a_clear_message(client, settings):
    old = tokens.issue(settings.jwt_secret, tokens.SESSION, [962302], 42, now=time.time() - tokens.SESSION_TTL - 5)
    client.set_cookie(session.COOKIE, old)
    assert client.get(PAGE).status_code == 401
    status = client.get("/marketplace/status")
    assert status.status_code == 401 and status.get_json()["error"] == "token_expired"


def test_the_page_has_strict_security_headers_and_no_inline_script(app, settings):
    Salon.create(salon_id=962302, title="<img src=x onerror=alert(1)>")
    c = signed_in(app, settings)
    page = c.get(PAGE)
    csp = page.headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'",
                      "object-src 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    body = page.get_data(as_text=True)
    assert "<img src=x" not in body and "&lt;img src=x" in body  # the salon name is escaped
    import re

    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", body, re.S)
    executable = [attrs for attrs, code in scripts if "application/json" not in attrs and code.strip()]
    assert executable == []  # every executable script is a same-origin file
    assert "http://" not in body.replace("http://127.0.0.1", "") and "https://cdn" not in body


def test_the_page_speaks_english_when_the_browser_prefers_it(app, settings):
    c = signed_in(app, settings)
    assert "Подключение WhatsApp" in c.get(PAGE).get_data(as_text=True)
    english = c.get(PAGE, headers={"Accept-Language": "en-US,en;q=0.9,ru;q=0.5"})
    assert "Connect WhatsApp" in english.get_data(as_text=True) and english.headers["Content-Language"] == "en"


def test_a_multi_branch_session_offers_a_branch_picker(app, settings):
    Salon.create(salon_id=501, title="Филиал Север")
    Salon.create(salon_id=502, title="Филиал Юг")
    body = signed_in(app, settings, (501, 502)).get(PAGE).get_data(as_text=True)
    assert 'id="branch-picker"' in body and "Филиал Север (501)" in body and "Филиал Юг (502)" in body


# -- polling status -------------------------------------------------------------------------------------

def test_polling_returns_the_same_snapshot_as_the_live_state(app, settings, live):
    live.publish(962302, "qr", {"payload": "2@abc", "svg": "<svg/>", "expires_in": 20}, state="pending_whatsapp")
    body = signed_in(app, settings).get("/marketplace/status").get_json()
    assert body["type"] == "snapshot" and body["salon_id"] == 962302 and body["seq"] == 1
    assert body["data"]["qr"]["payload"] == "2@abc" and body["data"]["state"] == "pending_whatsapp"
    assert body["slots"]["qr"]["seq"] == 1


def test_a_token_for_salon_a_never_reads_salon_b_by_polling(app, settings, live):
    live.publish(2, "pairing_code", {"code": "SECRETB1", "expires_in": 60})
    c = signed_in(app, settings, (1,))
    own = c.get("/marketplace/status")
    assert own.status_code == 200 and own.get_json()["salon_id"] == 1
    assert "SECRETB1" not in own.get_data(as_text=True)
    other = c.get("/marketplace/status?salon_id=2")
    assert other.status_code == 403 and "SECRETB1" not in other.get_data(as_text=True)


def test_a_multi_branch_session_may_poll_each_of_its_branches(app, settings, live):
    live.publish(502, "sync", {"status": "running", "entity": "clients", "done": 3, "total": 9})
    c = signed_in(app, settings, (501, 502))
    assert c.get("/marketplace/status?salon_id=502").get_json()["data"]["sync"]["done"] == 3
    assert c.get("/marketplace/status?salon_id=503").status_code == 403


def test_polling_without_a_session_is_refused(client):
    response = client.get("/marketplace/status?salon_id=962302")
    assert response.status_code == 401 and response.get_json()["error"] == "unauthorized"


def test_a_lost_snapshot_is_rebuilt_from_the_database(app, settings, redis_client):
    Salon.create(salon_id=962302, title="K", state=s.ACTIVE, whatsapp_state=s.WA_CONNECTED,
                 whatsapp_phone="79001234567", activated_at=s.utcnow(), welcome_sent_at=s.utcnow())
    SyncRun.create(salon_id=962302, status="done", entity="records",
                   checkpoints={"records": {"done": 40, "total": 40, "status": "done"}})
    redis_client.flushall()  # Redis lost everything
    data = signed_in(app, settings).get("/marketplace/status").get_json()["data"]
    assert data["state"] == s.ACTIVE
    assert data["whatsapp"]["phone"] == "+7900***67"  # masked
    assert data["activation"]["status"] == "done" and data["welcome"]["status"] == "sent"
    assert data["activation"]["message"] == "Интеграция с YCLIENTS активна."  # words from the catalogue
    assert {k: data["sync"][k] for k in ("status", "entity", "done", "total", "percent")} == {
        "status": "done", "entity": "records", "done": 40, "total": 40, "percent": 100}
    assert data["complete"]["code"] == "complete" and data["qr"] is None


# -- pairing code and restart linking ------------------------------------------------------------------

def pair(c, phone, **extra):
    return c.post("/marketplace/pairing-code", json={"phone": phone, **extra})


@pytest.mark.parametrize("raw, normalised", [("8 (900) 123-45-67", "79001234567"), ("+7 900 123 45 67", "79001234567"),
                                             ("9001234567", "79001234567"), ("+44 7911 123456", "447911123456")])
def test_a_pairing_code_request_normalises_the_phone_and_enqueues(app, settings, jobs, raw, normalised):
    response = pair(signed_in(app, settings), raw)
    assert response.status_code == 202
    assert jobs.calls() == [("request_pairing_code", 962302, normalised)]


@pytest.mark.parametrize("raw", ["", "12345", "1" * 16, "79001234567; drop", None, ["7900"], True])
def test_an_invalid_phone_is_refused_with_a_message_and_nothing_enqueued(app, settings, jobs, raw):
    response = pair(signed_in(app, settings), raw)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_phone"
    assert "10–15" in response.get_json()["message"]
    assert jobs.calls() == []


def test_a_pairing_code_needs_a_session_json_and_one_of_its_salons(app, settings, jobs, client):
    assert client.post("/marketplace/pairing-code", json={"phone": "79001234567"}).status_code == 401
    c = signed_in(app, settings)
    assert c.post("/marketplace/pairing-code", data={"phone": "79001234567"}).status_code == 400  # a form post
    assert pair(c, "79001234567", salon_id=2).status_code == 403
    assert jobs.calls() == []


def test_a_second_pairing_request_while_one_is_in_progress_is_refused(app, settings, jobs):
    c = signed_in(app, settings)
    assert pair(c, "79001234567").status_code == 202
    second = pair(c, "79001234567")
    assert second.status_code == 409 and second.get_json()["error"] == "request_in_progress"
    assert len(jobs.sent) == 1


def test_pairing_requests_are_rate_limited_per_salon(app, settings, jobs, redis_client):
    c = signed_in(app, settings)
    for attempt in range(6):
        redis_client.delete("aiadmin:web:pairing-lock:962302")  # as if each earlier request had finished
        response = pair(c, "79001234567")
        assert response.status_code == (202 if attempt < 5 else 429), attempt
    assert response.get_json()["error"] == "rate_limited" and response.get_json()["retry_after"] > 0
    assert len(jobs.sent) == 5


def test_pairing_requests_are_rate_limited_per_ip_across_salons(app, settings, jobs, redis_client):
    ids = tuple(range(1, 13))
    c = signed_in(app, settings, ids)
    codes = [pair(c, "79001234567", salon_id=i).status_code for i in ids[:11]]
    assert codes == [202] * 10 + [429]


def test_restart_linking_enqueues_once_and_is_rate_limited(app, settings, jobs):
    c = signed_in(app, settings)
    first = c.post("/marketplace/restart-linking", json={})
    second = c.post("/marketplace/restart-linking", json={})
    assert first.status_code == 202 and second.status_code == 429
    assert jobs.calls() == [("restart_linking", 962302)]
    assert c.post("/marketplace/restart-linking", json={"salon_id": 2}).status_code == 403


def test_the_full_journey_from_redirect_to_page(app, settings, jobs):
    c = new_client(app)
    first = c.get(f"/auth/yclients/redirect?{signed_query(settings.yclients_partner_token)}")
    page = c.get(first.headers["Location"])
    assert page.headers["Location"] == PAGE
    body = c.get(PAGE).get_data(as_text=True)
    assert "Салон «Пример»" in body and jobs.calls() == [("start_whatsapp_session", 962302)]
