"""Property: deeply nested, unbalanced or bracket-laden JSON on EVERY JSON entry point (YCLIENTS webhooks,
the page's commands, the redirect's user_data, the bridge's gateway webhook) never yields a 5xx."""
from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from hypothesis import example, given, strategies as st

from models import salon as s
from models.live import LiveStatus
from models.salon import Salon
from tests.fakes.fuzz import FUZZ, new_client, row_counts
from web.marketplace import tokens, userdata
from runtime import json_limits
from tests.fakes.json_bodies import nested

SALON = 962302
KEY = "k" * 40


def too_deep(raw: bytes) -> bool:
    return json_limits.depth_of(raw.decode(), stop_above=json_limits.MAX_DEPTH) > json_limits.MAX_DEPTH


bodies = nested() | st.sampled_from([b"[" * 1000, b"{\"a\":" * 1000, b"\"" + b"\\\"" * 5000, b"[\"" * 1000])


@pytest.fixture
def salons(database):
    Salon.create(salon_id=SALON, state=s.ACTIVE, webhook_key=KEY)


def _signed_in(app, settings):
    c = new_client(app)
    link = tokens.issue(settings.jwt_secret, tokens.LINK, [SALON], 42)
    assert c.get(f"/marketplace/onboarding?token={link}").status_code == 302
    return c


@FUZZ
@given(raw=bodies, url=st.sampled_from(["/webhook/yclients", f"/webhook/yclients/{KEY}"]))
@example(raw=b"[" * 1000, url="/webhook/yclients")  # the reported attack: 2 KB, was a RecursionError 500
def test_nested_json_on_yclients_webhooks_never_5xx(client, salons, redis_client, jobs, raw, url):
    redis_client.flushdb()
    before = row_counts()
    response = client.post(url, data=raw, content_type="application/json")
    assert 400 <= response.status_code < 500, (raw[:80], response.status_code)
    assert row_counts() == before and not jobs.sent


@FUZZ
@given(raw=bodies, path=st.sampled_from(["/marketplace/pairing-code", "/marketplace/restart-linking"]))
@example(raw=b"[" * 1000, path="/marketplace/pairing-code")
def test_nested_json_on_the_page_commands_never_5xx(web_app, settings, redis_client, jobs, raw, path):
    redis_client.flushdb()
    c = _signed_in(web_app, settings)
    sent = len(jobs.sent)
    response = c.post(path, data=raw, content_type="application/json")
    assert response.status_code < 500, (raw[:80], response.status_code)
    if too_deep(raw):
        assert response.status_code == 400 and len(jobs.sent) == sent


@FUZZ
@given(raw=bodies.filter(lambda raw: len(raw) <= 6000))
def test_nested_user_data_on_the_redirect_never_5xx(client, settings, redis_client, jobs, raw):
    redis_client.flushdb()
    import base64

    query = urlencode({"salon_id": SALON, "user_data": base64.urlsafe_b64encode(raw).decode(),
                       "user_data_sign": userdata.sign(raw, settings.yclients_partner_token)})
    sent = len(jobs.sent)
    response = client.get(f"/auth/yclients/redirect?{query}")
    assert response.status_code < 500, (raw[:80], response.status_code)
    if too_deep(raw):
        assert 400 <= response.status_code < 500 and len(jobs.sent) == sent


@pytest.fixture
def relay(settings, database, redis_client, jobs):
    from bridge.relay import create_app

    from tests.support import container_for

    return create_app(settings, container=container_for(settings, database, redis_client, "bridge", jobs=jobs,
                                                       gateway=object())).test_client()


@FUZZ
@given(raw=bodies)
@example(raw=b"[" * 1000)
def test_nested_signed_gateway_webhooks_never_5xx(relay, database, settings, redis_client, raw):
    from bridge.webhooks import sign

    response = relay.post("/waha/webhook", data=raw, content_type="application/json",
                          headers={"X-Webhook-Hmac": sign(settings.waha_webhook_secret, raw)})
    database.connect(reuse_if_open=True)
    assert response.status_code == 400, (raw[:80], response.status_code, response.get_data()[:200])


def test_bounded_parsing_refuses_depth_and_size_and_keeps_real_bodies():
    with pytest.raises(json_limits.BadJson) as deep:
        json_limits.loads(b"[" * 1000 + b"]" * 1000)
    assert deep.value.status == 400 and deep.value.error == "too_deep"
    with pytest.raises(json_limits.BadJson) as large:
        json_limits.loads(b"[" + b"1," * 200 + b"1]", max_bytes=100)
    assert large.value.status == 413
    at_limit = "[" * json_limits.MAX_DEPTH + "]" * json_limits.MAX_DEPTH
    assert json_limits.loads(at_limit) is not None
    assert json_limits.loads(json.dumps({"a": "[" * 100})) == {"a": "[" * 100}
    record = {"resource": "record", "data": {"services": [{"id": 1, "staff": {"positions": [{"id": 2}]}}]}}
    assert json_limits.loads(json.dumps(record)) == record
