"""Properties of the two webhook intakes (YCLIENTS at the web tier, WAHA at the bridge relay) under junk bodies:
never a 5xx, nothing stored without valid credentials, oversized bodies refused with 413."""
from __future__ import annotations

import json

import pytest
from hypothesis import example, given, strategies as st

from models import salon as s
from models.live import LiveStatus
from models.salon import Salon
from tests.fakes.fuzz import FUZZ, row_counts
from tests.support import container_for

SALON = 962302
KEY = "k" * 40

scalars = st.none() | st.booleans() | st.integers(-2 ** 80, 2 ** 80) | st.floats() | st.text(max_size=30)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=5), max_leaves=15)
ids = st.one_of(scalars, st.just(SALON), st.just(str(SALON)), st.from_regex(r"-?\d{1,30}", fullmatch=True),
                st.integers(1, 10).map(lambda n: "9" * (n * 450)))  # thousands of digits
lifecycle = st.fixed_dictionaries({"event": st.sampled_from(["uninstall", "freeze", "install", ""]) | json_values},
                                  optional={"salon_id": ids, "application_id": ids, "partner_token": scalars,
                                            "data": json_values})
data = st.fixed_dictionaries({"resource": st.sampled_from(["record", "client", "finances_operation"]) | json_values},
                             optional={"company_id": ids, "status": json_values, "resource_id": ids,
                                       "data": json_values, "partner_token": scalars})
bodies = st.one_of(lifecycle, data, json_values)
urls = st.sampled_from(["/webhook/yclients", f"/webhook/yclients/{KEY}", "/webhook/yclients/" + "x" * 40,
                        "/webhook/yclients/%00", "/webhook/yclients/" + "k" * 200]) \
    | st.text(alphabet="abcXYZ09-_.~", min_size=1, max_size=80).map(lambda k: f"/webhook/yclients/{k}")


@pytest.fixture
def salons(database):
    Salon.create(salon_id=SALON, state=s.ACTIVE, webhook_key=KEY)


def _body_bytes(body):
    return json.dumps(body, allow_nan=True).encode()


@FUZZ
@given(body=bodies, url=urls)
def test_unauthenticated_webhooks_never_5xx_and_never_write(client, salons, redis_client, jobs, body, url):
    redis_client.flushdb()
    if isinstance(body, dict):
        body.pop("partner_token", None)
        if url.endswith(KEY) and "resource" in body and body.get("company_id") in (SALON, str(SALON)):
            body["company_id"] = SALON + 1  # the key of one salon never authorises another's data
    before, sent = row_counts(), len(jobs.sent)
    response = client.post(url, data=_body_bytes(body), content_type="application/json")
    assert 400 <= response.status_code < 500, (body, url, response.status_code, response.get_data()[:200])
    assert response.is_json and "Traceback" not in response.get_data(as_text=True)
    assert row_counts() == before and len(jobs.sent) == sent


@FUZZ
@given(body=st.one_of(lifecycle, data), url=urls)
@example(body={"event": "uninstall", "salon_id": 2 ** 63}, url="/webhook/yclients")  # past BIGINT: was a 500
@example(body={"resource": "record", "company_id": SALON, "resource_id": "9" * 4400}, url="/webhook/yclients")
def test_authenticated_junk_is_stored_once_or_refused_never_5xx(client, salons, settings, redis_client, jobs, body,
                                                               url):
    redis_client.flushdb()
    body["partner_token"] = settings.yclients_partner_token
    before, sent = row_counts(), len(jobs.sent)
    response = client.post(url, data=_body_bytes(body), content_type="application/json")
    assert response.status_code < 500, (body, url, response.status_code, response.get_data()[:300])
    after = row_counts()
    if response.status_code >= 400 or response.get_json().get("ignored"):
        assert after == before and len(jobs.sent) == sent
    else:
        assert after["webhook_delivery"] == before["webhook_delivery"] + 1 and len(jobs.sent) == sent + 1
        assert {k: v for k, v in after.items() if k != "webhook_delivery"} == \
               {k: v for k, v in before.items() if k != "webhook_delivery"}


@FUZZ
@given(raw=st.binary(max_size=300), content_type=st.sampled_from(
    ["application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "", "*/*"]))
def test_raw_bytes_of_any_content_type_never_5xx_and_never_write(client, salons, redis_client, jobs, raw,
                                                                content_type):
    redis_client.flushdb()
    before = row_counts()
    response = client.post("/webhook/yclients", data=raw, content_type=content_type)
    assert 400 <= response.status_code < 500
    assert row_counts() == before and not jobs.sent


@pytest.mark.parametrize("url", ["/webhook/yclients", f"/webhook/yclients/{KEY}"])
def test_an_oversized_body_without_a_content_length_is_refused_with_413(client, salons, settings, jobs, url):
    body = {"resource": "record", "company_id": SALON, "partner_token": settings.yclients_partner_token,
            "data": {"comment": "x" * (300 * 1024)}}

    def chunks():  # a chunked upload: nothing announces the size up front
        raw = json.dumps(body).encode()
        for i in range(0, len(raw), 16384):
            yield raw[i:i + 16384]

    before = row_counts()
    response = client.post(url, input_stream=_Stream(chunks()), content_type="application/json",
                           headers={"Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})  # what gunicorn sets for chunked
    assert response.status_code == 413
    assert row_counts() == before and not jobs.sent


class _Stream:
    def __init__(self, chunks):
        self.buffer = b"".join(chunks)
        self.pos = 0

    def read(self, size=-1):
        size = len(self.buffer) - self.pos if size is None or size < 0 else size
        out = self.buffer[self.pos:self.pos + size]
        self.pos += len(out)
        return out

    def readline(self, size=-1):
        return self.read(size)

    def tell(self):
        return self.pos

    def seek(self, pos, whence=0):
        self.pos = pos if whence == 0 else len(self.buffer) + pos if whence == 2 else self.pos + pos
        return self.pos


# --- the bridge relay: WAHA webhooks -----------------------------------------------------------------------

@pytest.fixture
def relay(settings, database, redis_client, jobs):
    from bridge.relay import create_app

    class NoWaha:
        def __getattr__(self, name):
            raise AssertionError("the relay must not call WAHA for a refused webhook")

    app = create_app(settings, container=container_for(settings, database, redis_client, "bridge", jobs=jobs,
                                                       gateway=NoWaha()))
    return app.test_client()


headers_strategy = st.one_of(
    st.none(), st.text(max_size=200).map(lambda t: t.replace("\r", "").replace("\n", "")), st.from_regex(r"[0-9a-f]{128}", fullmatch=True),
    st.text(alphabet="éü€\u0000", min_size=1, max_size=5),  # non-ASCII: compare_digest must not crash on it
)


@FUZZ
@given(body=st.one_of(json_values.map(_body_bytes), st.binary(max_size=300)), signature=headers_strategy)
@example(body=b"{}", signature="\u00e9" * 128)  # non-ASCII signature header: compare_digest raised, a 500
def test_unsigned_waha_webhooks_never_5xx_and_change_nothing(relay, database, redis_client, jobs, body, signature):
    before, keys = row_counts(), redis_client.dbsize()
    headers = {} if signature is None else {"X-Webhook-Hmac": signature.encode("utf-8").decode("latin-1")}
    response = relay.post("/waha/webhook", data=body, headers=headers, content_type="application/json")
    database.connect(reuse_if_open=True)
    assert response.status_code == 401, (response.status_code, response.get_data()[:200])
    assert row_counts() == before and redis_client.dbsize() == keys and not jobs.sent


@FUZZ
@given(body=json_values)
def test_signed_junk_waha_webhooks_never_5xx(relay, database, settings, redis_client, body):
    from bridge.webhooks import sign

    raw = _body_bytes(body)
    response = relay.post("/waha/webhook", data=raw, content_type="application/json",
                          headers={"X-Webhook-Hmac": sign(settings.waha_webhook_secret, raw)})
    database.connect(reuse_if_open=True)
    assert response.status_code < 500, (body, response.status_code, response.get_data()[:200])


def test_an_oversized_waha_webhook_is_refused_with_413(relay, settings, redis_client):
    from bridge.webhooks import sign

    raw = b'{"event":"message","session":"salon_1","payload":{"body":"' + b"x" * (2 * 1024 * 1024) + b'"}}'
    response = relay.post("/waha/webhook", data=raw, content_type="application/json",
                          headers={"X-Webhook-Hmac": sign(settings.waha_webhook_secret, raw)})
    assert response.status_code == 413 and redis_client.dbsize() == 0
