"""Floods are refused with 429 per address or per salon, without harming other addresses or salons, and a
client that reaches us directly cannot dodge a per-IP limit by writing its own X-Forwarded-For."""
from __future__ import annotations

from urllib.parse import urlencode

from tests.fakes.onboarding import signed_query
from tests.fakes.fuzz import new_client, row_counts
from web.marketplace import onboarding, redirect, tokens

SALON = 962302
OTHER = 997441
PROXY = {"REMOTE_ADDR": "127.0.0.1"}  # our nginx on the same host


def _from(ip: str, *, via_proxy=True, spoofed: str | None = None) -> dict:
    """WSGI environ of a request from `ip`: through our proxy (it appends the peer), or straight to us."""
    if via_proxy:
        forwarded = f"{spoofed}, {ip}" if spoofed else ip
        return {"environ_overrides": {**PROXY}, "headers": {"X-Forwarded-For": forwarded}}
    return {"environ_overrides": {"REMOTE_ADDR": ip}, "headers": {"X-Forwarded-For": spoofed or "10.9.9.9"}}


def test_a_redirect_flood_from_one_address_gets_429_and_other_addresses_still_register(client, settings, jobs,
                                                                                        monkeypatch):
    monkeypatch.setattr(redirect, "REDIRECT_LIMITS", (("redirect:ip:{ip}", 5, 600),))
    forged = urlencode({"salon_id": SALON, "user_data": "e30=", "user_data_sign": "0" * 64})
    statuses = [client.get(f"/auth/yclients/redirect?{forged}", **_from("198.51.100.7")).status_code
                for _ in range(8)]
    assert statuses == [403] * 5 + [429] * 3
    refused = client.get(f"/auth/yclients/redirect?{forged}", **_from("198.51.100.7"))
    assert "Слишком много попыток" in refused.get_data(as_text=True) and int(refused.headers["Retry-After"]) > 0
    # A genuine owner elsewhere is not affected, and the flood wrote nothing.
    before = row_counts()
    ok = client.get(f"/auth/yclients/redirect?{signed_query(settings.yclients_partner_token)}",
                    **_from("203.0.113.20"))
    assert ok.status_code == 302 and row_counts()["salon"] == before["salon"] + 1


def test_signed_redirects_past_the_address_limit_get_429_and_open_no_check(client, settings, jobs, monkeypatch):
    monkeypatch.setattr(redirect, "REDIRECT_LIMITS", (("redirect:ip:{ip}", 3, 600),))
    forged = urlencode({"salon_id": SALON, "user_data": "e30=", "user_data_sign": "0" * 64})
    token = settings.yclients_partner_token
    before = row_counts()
    statuses = [client.get(f"/auth/yclients/redirect?{query}", **_from("198.51.100.7")).status_code
                for query in [signed_query(token, salon_ids=(SALON + i,)) for i in range(2)] + [forged]
                + [signed_query(token, salon_ids=(SALON + i,)) for i in range(2, 4)]]
    # Signed and forged requests count against the same limit, each once, in the order they came.
    assert statuses == [302, 302, 403, 429, 429]
    assert len(jobs.checks) == 2 and row_counts()["salon"] == before["salon"] + 2
    refused = client.get(f"/auth/yclients/redirect?{signed_query(token, salon_ids=(OTHER,))}",
                         **_from("198.51.100.7"))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Слишком много попыток" in refused.get_data(as_text=True) and len(jobs.checks) == 2


def test_a_client_talking_to_us_directly_cannot_rotate_x_forwarded_for_past_the_limit(client, monkeypatch):
    monkeypatch.setattr(redirect, "REDIRECT_LIMITS", (("redirect:ip:{ip}", 3, 600),))
    forged = urlencode({"salon_id": SALON, "user_data": "e30=", "user_data_sign": "0" * 64})
    statuses = [client.get(f"/auth/yclients/redirect?{forged}",
                           **_from("8.8.4.4", via_proxy=False, spoofed=f"10.0.0.{i}")).status_code
                for i in range(5)]
    assert statuses == [403] * 3 + [429] * 2


def test_behind_our_proxy_a_spoofed_first_hop_does_not_change_the_address(client, monkeypatch):
    monkeypatch.setattr(redirect, "REDIRECT_LIMITS", (("redirect:ip:{ip}", 3, 600),))
    forged = urlencode({"salon_id": SALON, "user_data": "e30=", "user_data_sign": "0" * 64})
    statuses = [client.get(f"/auth/yclients/redirect?{forged}",
                           **_from("198.51.100.7", spoofed=f"10.0.0.{i}")).status_code for i in range(5)]
    assert statuses == [403] * 3 + [429] * 2


def _session(app, salon_ids):
    c = new_client(app)
    link = tokens.issue("test-jwt-secret-0123456789abcdef", tokens.LINK, salon_ids, 42)
    assert c.get(f"/marketplace/onboarding?token={link}").status_code == 302
    return c


def test_a_pairing_flood_for_one_salon_does_not_block_another_salon(web_app, redis_client, jobs, monkeypatch):
    monkeypatch.setattr(onboarding, "PAIRING_LIMITS", (("pairing:salon:{salon}", 3, 600),
                                                       ("pairing:ip:{ip}", 100, 600)))
    flooder, other = _session(web_app, [SALON]), _session(web_app, [OTHER])
    codes = []
    for _ in range(5):
        redis_client.delete(f"aiadmin:web:pairing-lock:{SALON}")  # past the in-progress lock, into the limit
        codes.append(flooder.post("/marketplace/pairing-code", json={"phone": "79001234567"},
                                  **_from("198.51.100.7")).status_code)
    assert codes == [202] * 3 + [429] * 2
    assert other.post("/marketplace/pairing-code", json={"phone": "79001112233"},
                      **_from("203.0.113.20")).status_code == 202
    assert [call[1] for call in jobs.calls()] == [SALON] * 3 + [OTHER]


def test_a_restart_flood_from_one_address_spares_other_addresses(web_app, jobs, monkeypatch):
    monkeypatch.setattr(onboarding, "RESTART_LIMITS", (("restart:ip:{ip}", 2, 600),))
    flooder, other = _session(web_app, [SALON]), _session(web_app, [OTHER])
    codes = [flooder.post("/marketplace/restart-linking", json={}, **_from("198.51.100.7")).status_code
             for _ in range(4)]
    assert codes == [202, 202, 429, 429]
    assert other.post("/marketplace/restart-linking", json={}, **_from("203.0.113.20")).status_code == 202
    assert len(jobs.sent) == 3


def test_a_polling_flood_is_refused_per_address(web_app, monkeypatch):
    monkeypatch.setattr(onboarding, "STATUS_LIMITS", (("status:ip:{ip}", 3, 60),))
    c = _session(web_app, [SALON])
    codes = [c.get("/marketplace/status", **_from("198.51.100.7")).status_code for _ in range(5)]
    assert codes == [200] * 3 + [429] * 2
    assert c.get("/marketplace/status", **_from("203.0.113.20")).status_code == 200


# --- webhook intake ------------------------------------------------------------------------------------------

def _webhook_salons():
    from models import salon as s
    from models.salon import Salon

    Salon.create(salon_id=SALON, state=s.ACTIVE, webhook_key="a" * 40)
    Salon.create(salon_id=OTHER, state=s.ACTIVE, webhook_key="b" * 40)


def _data(salon):
    return {"resource": "record", "status": "update", "company_id": salon, "resource_id": 1, "data": {}}


def _lifecycle(salon, token):
    return {"salon_id": salon, "application_id": 18289, "event": "freeze", "partner_token": token}


def test_an_address_sending_refused_webhooks_gets_429_for_its_refusals(client, settings, jobs, monkeypatch):
    from web import webhooks

    _webhook_salons()
    monkeypatch.setattr(webhooks, "REFUSALS_PER_IP", ("webhook:refused:ip:{ip}", 5, 60))
    attacker = _from("198.51.100.7")
    codes = [client.post("/webhook/yclients/" + "x" * 40, json=_data(SALON), **attacker).status_code
             for _ in range(7)]
    assert codes == [403] * 5 + [429] * 2
    assert client.post("/webhook/yclients", json=_data(SALON), **attacker).status_code == 429  # tokenless data
    assert client.post("/webhook/yclients", json=_lifecycle(SALON, "forged"), **attacker).status_code == 429
    # Another address is unaffected.
    assert client.post("/webhook/yclients/" + "x" * 40, json=_data(SALON), **_from("203.0.113.20")).status_code == 403
    assert jobs.calls() == []


def test_authenticated_deliveries_are_never_limited_even_from_a_blocked_address(client, settings, jobs, monkeypatch):
    # Issue 15: tokenless data webhooks on the shared URL (401) from YCLIENTS' own address must not block the
    # lifecycle webhooks (valid partner token) or the key-URL deliveries coming from that same address.
    from models.webhook_delivery import WebhookDelivery
    from web import webhooks

    _webhook_salons()
    monkeypatch.setattr(webhooks, "REFUSALS_PER_IP", ("webhook:refused:ip:{ip}", 3, 60))
    yclients = _from("185.20.30.40")
    refused = [client.post("/webhook/yclients", json=_data(SALON), **yclients).status_code for _ in range(5)]
    assert refused == [401] * 3 + [429] * 2
    lifecycle = client.post("/webhook/yclients", json=_lifecycle(SALON, settings.yclients_partner_token), **yclients)
    assert lifecycle.status_code == 200, lifecycle.get_json()
    assert client.post("/webhook/yclients/" + "a" * 40, json=_data(SALON), **yclients).status_code == 200
    assert WebhookDelivery.select().count() == 2 and len(jobs.sent) == 2


def test_accepted_webhooks_never_count_against_the_address(client, settings, monkeypatch):
    from web import webhooks

    _webhook_salons()
    monkeypatch.setattr(webhooks, "REFUSALS_PER_IP", ("webhook:refused:ip:{ip}", 2, 60))
    codes = {client.post("/webhook/yclients/" + "a" * 40, json=_data(SALON), **_from("203.0.113.20")).status_code
             for _ in range(10)}
    assert codes == {200}


def test_a_burst_of_deliveries_for_one_salon_is_never_limited(client, settings, jobs):
    from models.webhook_delivery import WebhookDelivery

    _webhook_salons()
    codes = {client.post("/webhook/yclients/" + "a" * 40, json={**_data(SALON), "resource_id": n}).status_code
             for n in range(50)}
    assert codes == {200}
    assert WebhookDelivery.select().where(WebhookDelivery.salon_id == SALON).count() == 50


def test_limiter_keys_expire_with_their_window_so_a_flood_of_addresses_leaves_nothing_behind(redis_client):
    from web.marketplace.ratelimit import PREFIX, RateLimiter

    limiter = RateLimiter(redis_client)
    for i in range(200):  # S-18: one key per address must not accumulate forever
        limiter.hit(f"redirect:ip:10.0.{i // 256}.{i % 256}", 30, 600)
    keys = redis_client.keys(PREFIX + "*")
    assert len(keys) == 200
    assert all(0 < redis_client.pttl(key) <= 600_000 for key in keys)
