"""The simulator's HTTP face: API key, WAHA error shapes, the phone page with its Scan button, fault knobs."""
import pytest

from sandbox.whatsapp.app import create_app
from sandbox.whatsapp.core import SimCore


@pytest.fixture
def core():
    return SimCore(clock=lambda: 1000.0)


@pytest.fixture
def client(core):
    return create_app({"core": core, "api_key": "k"}).test_client()


def test_the_api_needs_the_key_but_health_and_page_do_not(client):
    assert client.get("/api/sessions").status_code == 401
    assert client.get("/api/sessions", headers={"X-Api-Key": "wrong"}).status_code == 401
    assert client.get("/api/sessions", headers={"X-Api-Key": "k"}).get_json() == []
    assert client.get("/healthz").status_code == 200
    assert client.get("/").status_code == 200


def test_errors_look_like_wahas(client):
    headers = {"X-Api-Key": "k"}
    assert client.post("/api/sessions", json={"name": "salon_1"}, headers=headers).status_code == 201
    again = client.post("/api/sessions", json={"name": "salon_1"}, headers=headers)
    assert again.status_code == 422 and "already exists" in again.get_json()["message"]
    missing = client.get("/api/sessions/salon_2", headers=headers)
    assert missing.status_code == 404 and missing.get_json()["statusCode"] == 404


def test_the_page_lists_sessions_and_its_scan_button_links_the_phone(client, core):
    core.create("salon_1", {})
    page = client.get("/").get_data(as_text=True)
    assert "salon_1" in page and "SCAN_QR_CODE" in page and "<svg" in page
    assert "action='/_sim/salon_1/scan'" in page
    response = client.post("/_sim/salon_1/scan", data={"phone": "79001234567"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/")
    assert core.sessions["salon_1"].status == "WORKING"
    assert "79001234567" in client.get("/").get_data(as_text=True)


def test_the_page_escapes_what_it_shows(client, core):
    core.create("salon_1", {})
    core.scan("salon_1", "79001234567")
    core.send_text("salon_1", "79001234567@c.us", "<script>alert(1)</script>")
    page = client.get("/").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


def test_fault_knobs(client, core):
    assert client.post("/_sim/faults", json={"down": True}).get_json() == {"down": True}
    assert client.get("/api/sessions", headers={"X-Api-Key": "k"}).status_code == 503
    assert client.post("/_sim/faults", json={"reset": True}).get_json() == {}
