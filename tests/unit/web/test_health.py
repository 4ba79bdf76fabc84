import peewee
import pytest
import redis as redis_lib

from tests.fakes.web_app import make_app


@pytest.fixture
def client(settings, database, redis_client):
    return make_app(settings, database, redis_client).test_client()


def test_healthz_is_always_ok(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_public_health_is_minimal(client):
    response = client.get("/marketplace/health")
    body = response.get_json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert set(body) == {"status", "timestamp"}


def test_detailed_health_needs_the_token_and_reveals_no_secret_values(client, settings):
    wrong = client.get("/marketplace/health", headers={"Authorization": "Bearer nope"}).get_json()
    assert set(wrong) == {"status", "timestamp"}
    response = client.get("/marketplace/health", headers={"Authorization": f"Bearer {settings.health_token}"})
    body = response.get_json()
    assert body["services"]["database"]["status"] == "healthy"
    assert "latency_ms" in body["services"]["redis"]
    assert body["environment"]["partner_token_configured"] is True
    text = response.get_data(as_text=True)
    for secret in (settings.yclients_partner_token, settings.jwt_secret, settings.waha_api_key,
                   settings.waha_webhook_secret, settings.health_token):
        assert secret not in text


def test_health_reports_error_with_503_when_the_database_is_down(settings, tmp_path, redis_client):
    broken = peewee.PostgresqlDatabase("nope", host="127.0.0.1", port=1, connect_timeout=1, autoconnect=False)
    response = make_app(settings, broken, redis_client).test_client().get("/marketplace/health")
    assert response.status_code == 503
    assert response.get_json()["status"] == "error"


def test_health_is_degraded_when_redis_is_down(settings, database):
    dead = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    response = make_app(settings, database, dead).test_client().get("/marketplace/health")
    assert response.status_code == 200
    assert response.get_json()["status"] == "degraded"
