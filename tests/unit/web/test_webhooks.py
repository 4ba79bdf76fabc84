"""POST /webhook/yclients[/<key>]: origin checks, store-before-ack, enqueue after commit, clear 4xx."""
import json

import pytest

from models import salon as s
from models.salon import Salon
from models.webhook_delivery import WebhookDelivery
from models.live import LiveStatus
from web import create_app, webhook_auth
from runtime.stub_jobs import StubJobs
from tests.support import container_for

SALON = 962302
OTHER = 997441
KEY = "k" * 40


class Client:
    """The Flask test client; reopens the test's connection the app closes after each request."""

    def __init__(self, app, database):
        self.client = app.test_client()
        self.database = database

    def post(self, *args, **kwargs):
        response = self.client.post(*args, **kwargs)
        self.database.connect(reuse_if_open=True)
        return response


@pytest.fixture
def jobs():
    return StubJobs()


@pytest.fixture
def client(settings, database, redis_client, jobs):
    Salon.create(salon_id=SALON, state=s.ACTIVE, api_key="a" * 32, webhook_key=KEY)
    Salon.create(salon_id=OTHER, state=s.ACTIVE, webhook_key="o" * 40)
    context = container_for(settings=settings, database=database, redis=redis_client, jobs=jobs,
                         live=LiveStatus(redis_client))
    return Client(create_app(settings, container=context), database)


def lifecycle(settings, **overrides):
    body = {"salon_id": SALON, "application_id": settings.yclients_app_id, "event": "uninstall",
            "partner_token": settings.yclients_partner_token}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def record_body(company_id=SALON, **overrides):
    body = {"resource": "record", "status": "update", "company_id": company_id, "resource_id": 1217405723,
            "data": {"id": 1217405723, "datetime": "2025-08-06T13:00:00+03:00",
                     "last_change_date": "2025-08-06T10:55:05+0300", "comment": "ok"}}
    body.update(overrides)
    return body


def test_a_valid_lifecycle_webhook_is_stored_without_the_token_then_enqueued(client, settings, jobs):
    response = client.post("/webhook/yclients", json=lifecycle(settings))
    assert response.status_code == 200
    delivery_id = response.get_json()["delivery_id"]
    row = WebhookDelivery.get_by_id(delivery_id)
    assert (row.kind, row.event, row.salon_id, row.auth) == ("lifecycle", "uninstall", SALON, "partner_token")
    assert row.processed_at is None and row.outcome == ""
    assert "partner_token" not in row.body and settings.yclients_partner_token not in json.dumps(row.body)
    assert jobs.calls() == [("process_webhook", delivery_id)]


@pytest.mark.parametrize("token, status, error", [
    (None, 401, "missing_partner_token"),
    ("forged-token", 403, "invalid_partner_token"),
    ("", 403, "invalid_partner_token"),
    (12345, 403, "invalid_partner_token"),
])
def test_a_lifecycle_webhook_with_a_missing_or_forged_token_is_refused_and_changes_nothing(
        client, settings, jobs, token, status, error):
    body = lifecycle(settings)
    body.pop("partner_token")
    if token is not None:
        body["partner_token"] = token
    response = client.post("/webhook/yclients", json=body)
    assert response.status_code == status
    assert response.get_json()["error"] == error
    assert WebhookDelivery.select().count() == 0
    assert jobs.calls() == []
    assert Salon.get_by_id(SALON).state == s.ACTIVE


def test_the_partner_token_is_compared_in_constant_time(client, settings, monkeypatch):
    calls = []
    real = webhook_auth.hmac.compare_digest
    monkeypatch.setattr(webhook_auth.hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    client.post("/webhook/yclients", json=lifecycle(settings, partner_token="nope"))
    assert calls


def test_another_application_is_acknowledged_and_ignored(client, settings, jobs):
    response = client.post("/webhook/yclients", json=lifecycle(settings, application_id=1))
    assert response.status_code == 200
    assert response.get_json() == {"ok": True, "ignored": "different_application"}
    assert WebhookDelivery.select().count() == 0 and jobs.calls() == []


def test_a_data_webhook_on_its_salons_key_url_is_accepted(client, jobs):
    response = client.post(f"/webhook/yclients/{KEY}", json=record_body())
    assert response.status_code == 200
    row = WebhookDelivery.get_by_id(response.get_json()["delivery_id"])
    assert (row.kind, row.resource, row.status, row.resource_id, row.auth) == (
        "data", "record", "update", 1217405723, "webhook_key")
    assert jobs.calls() == [("process_webhook", row.id)]


def test_a_data_webhook_for_another_salon_than_its_key_is_refused(client, jobs):
    response = client.post(f"/webhook/yclients/{KEY}", json=record_body(company_id=OTHER))
    assert response.status_code == 403
    assert response.get_json()["error"] == "wrong_salon"
    assert WebhookDelivery.select().count() == 0 and jobs.calls() == []


@pytest.mark.parametrize("path, status, error", [
    ("/webhook/yclients/" + "x" * 40, 403, "invalid_webhook_key"),
    ("/webhook/yclients/%27%20or%201=1", 403, "invalid_webhook_key"),
    ("/webhook/yclients", 401, "unauthenticated"),
])
def test_a_data_webhook_without_a_valid_key_or_token_is_refused(client, jobs, path, status, error):
    response = client.post(path, json=record_body())
    assert response.status_code == status
    assert response.get_json()["error"] == error
    assert WebhookDelivery.select().count() == 0 and jobs.calls() == []


def test_a_data_webhook_with_the_partner_token_is_accepted_on_the_shared_url(client, settings):
    response = client.post("/webhook/yclients", json=record_body(partner_token=settings.yclients_partner_token))
    assert response.status_code == 200
    assert WebhookDelivery.get_by_id(response.get_json()["delivery_id"]).auth == "partner_token"


def test_a_forged_token_is_refused_even_on_a_valid_key_url(client):
    response = client.post(f"/webhook/yclients/{KEY}", json=record_body(partner_token="forged"))
    assert response.status_code == 403
    assert WebhookDelivery.select().count() == 0


def test_an_unknown_resource_is_stored_for_the_worker_to_ignore(client):
    response = client.post(f"/webhook/yclients/{KEY}", json=record_body(resource="finances_operation"))
    assert response.status_code == 200
    assert WebhookDelivery.get_by_id(response.get_json()["delivery_id"]).resource == "finances_operation"


@pytest.mark.parametrize("raw, error", [
    (b"{not json", "malformed_json"),
    (b"[1, 2]", "malformed_json"),
    (b"\xff\xfe", "malformed_json"),
    (b'{"hello": "world"}', "unrecognised_webhook"),
    (b'{"event": "uninstall", "salon_id": "abc"}', "invalid_payload"),
])
def test_malformed_bodies_get_a_clear_400(client, raw, error):
    response = client.post("/webhook/yclients", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"] == error
    assert WebhookDelivery.select().count() == 0


def test_an_oversized_body_gets_413(client, settings):
    body = lifecycle(settings, padding="x" * (300 * 1024))
    response = client.post("/webhook/yclients", json=body)
    assert response.status_code == 413
    assert response.is_json
    assert WebhookDelivery.select().count() == 0


def test_a_failed_enqueue_still_acknowledges_the_stored_delivery_for_the_sweep(settings, database, redis_client):
    Salon.create(salon_id=SALON, state=s.ACTIVE)
    context = container_for(settings, database, redis_client, jobs=StubJobs(fail=ConnectionError("redis is down")),
                            live=LiveStatus(redis_client))
    client = Client(create_app(settings, container=context), database)
    response = client.post("/webhook/yclients", json=lifecycle(settings))
    assert response.status_code == 200
    assert WebhookDelivery.get_by_id(response.get_json()["delivery_id"]).processed_at is None


def test_identical_bodies_hash_alike_whatever_the_key_order_and_token():
    a = {"salon_id": 1, "event": "uninstall", "application_id": 2, "partner_token": "x"}
    b = {"application_id": 2, "event": "uninstall", "salon_id": 1, "partner_token": "y"}
    assert webhook_auth.body_hash(a) == webhook_auth.body_hash(b)
    assert webhook_auth.body_hash(a) != webhook_auth.body_hash({**a, "event": "freeze"})


def test_deliveries_are_counted_by_kind_and_outcome(client, settings):
    from runtime import metrics

    m = metrics.reset_for_tests()
    client.post("/webhook/yclients", json=lifecycle(settings))
    client.post("/webhook/yclients", json=lifecycle(settings, partner_token="forged"))
    client.post(f"/webhook/yclients/{KEY}", json=record_body())
    value = lambda kind, outcome: m.webhooks.labels(kind=kind, outcome=outcome)._value.get()  # noqa: E731
    assert value("lifecycle", "accepted") == 1
    assert value("lifecycle", "refused") == 1
    assert value("data", "accepted") == 1


@pytest.mark.parametrize("raw, status, error", [
    ('{"event": "uninstall", "salon_id": "\u00b2"}', 400, "invalid_payload"),  # isdigit() but not int()
    ('{"event": "uninstall", "salon_id": 962302, "note": "\\ud800"}', 400, "malformed_json"),  # lone surrogate
    ('{"event": "uninstall", "salon_id": 962302, "partner_token": "\\ud800"}', 400, "malformed_json"),
    ('{"event": "uninstall", "salon_id": 99999999999999999999999}', 400, "invalid_payload"),  # beyond BIGINT
])
def test_unicode_and_number_tricks_are_a_400_not_a_500(client, raw, status, error):
    response = client.post("/webhook/yclients", data=raw.encode(), content_type="application/json")
    assert (response.status_code, response.get_json()["error"]) == (status, error)
    assert WebhookDelivery.select().count() == 0


def test_a_nul_in_a_label_is_dropped_so_any_database_stores_it(client, settings):
    body = lifecycle(settings, event="unin\u0000stall")
    response = client.post("/webhook/yclients", json=body)
    assert response.status_code == 200
    assert WebhookDelivery.get_by_id(response.get_json()["delivery_id"]).event == "uninstall"


def test_a_token_with_a_surrogate_escape_is_refused_not_a_crash():
    assert webhook_auth.token_matches("\ud800", "secret") is False


def _redis_calls(redis_client) -> dict:
    stats = redis_client.info("commandstats")
    return {name: value["calls"] for name, value in stats.items() if name != "cmdstat_info"}


def test_an_accepted_delivery_makes_no_redis_call_on_the_request_path(client, redis_client, jobs):
    """The refusal limit and the error budget only matter when the answer is a refusal: an accepted
    delivery never waits for Redis (its job is enqueued by the writer, here a StubJobs)."""
    client.post(f"/webhook/yclients/{KEY}", json=record_body())  # warm: the key is cached now
    before = _redis_calls(redis_client)
    response = client.post(f"/webhook/yclients/{KEY}", json=record_body(resource_id=2))
    assert response.status_code == 200
    assert _redis_calls(redis_client) == before
    refused = client.post("/webhook/yclients", json=record_body())  # a refusal still counts, in Redis
    assert refused.status_code == 401 and _redis_calls(redis_client) != before


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_rotated_webhook_key_stops_working_within_the_cache_ttl(client, jobs):
    from web import webhooks

    app = client.client.application
    clock = Clock()
    cache = webhooks.keys(app)
    cache.clock = clock
    assert client.post(f"/webhook/yclients/{KEY}", json=record_body()).status_code == 200
    Salon.update(webhook_key="n" * 40).where(Salon.salon_id == SALON).execute()  # rotated (or removed)
    # within the TTL the old key is still served from this process's cache (documented: docs/webhooks.md)
    clock.now += webhooks.KEY_TTL_S - 0.5
    assert client.post(f"/webhook/yclients/{KEY}", json=record_body(resource_id=2)).status_code == 200
    clock.now += 1
    refused = client.post(f"/webhook/yclients/{KEY}", json=record_body(resource_id=3))
    assert (refused.status_code, refused.get_json()["error"]) == (403, "invalid_webhook_key")
    # an unknown key is never remembered: the new key works at once
    assert client.post(f"/webhook/yclients/{'n' * 40}", json=record_body(resource_id=4)).status_code == 200


def test_the_stored_body_is_the_canonical_json_its_hash_is_taken_of(client, settings):
    body = record_body(partner_token=settings.yclients_partner_token)
    response = client.post("/webhook/yclients", json=body)
    row = WebhookDelivery.get_by_id(response.get_json()["delivery_id"])
    assert row.body == webhook_auth.without_token(body)
    assert row.body_hash == webhook_auth.body_hash(body)


def test_a_delivery_the_database_cannot_store_is_a_503_and_nothing_is_kept(client, jobs, monkeypatch):
    def down(connection, rows, sqlite):
        raise ConnectionError("database is down")

    monkeypatch.setattr("web.webhook_store.insert_batch", down)
    response = client.post(f"/webhook/yclients/{KEY}", json=record_body())
    assert response.status_code == 503 and response.get_json()["error"] == "database_unavailable"
    assert WebhookDelivery.select().count() == 0 and jobs.calls() == []


def test_an_accepted_delivery_is_answered_before_flasks_machinery_with_the_same_answer(client, jobs):
    """The WSGI fast path (web/webhook_wsgi.py): no Flask hook runs for an accepted delivery; refusals
    still go through Flask (its hooks: the refusal limit, the error budget)."""
    app = client.client.application
    seen = []
    app.before_request_funcs.setdefault(None, []).append(lambda: seen.append(1) and None)
    response = client.post(f"/webhook/yclients/{KEY}", json=record_body())
    assert response.status_code == 200 and seen == []
    assert response.get_json() == {"ok": True, "delivery_id": WebhookDelivery.get().id}
    assert response.headers["Content-Type"] == "application/json"
    assert (response.headers["X-Content-Type-Options"], response.headers["X-Frame-Options"],
            response.headers["Referrer-Policy"]) == ("nosniff", "DENY", "no-referrer")
    refused = client.post(f"/webhook/yclients/{'x' * 40}", json=record_body())
    assert refused.status_code == 403 and seen == [1]
    assert WebhookDelivery.select().count() == 1 and len(jobs.calls()) == 1
