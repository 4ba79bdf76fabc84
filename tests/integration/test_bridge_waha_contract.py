"""The WAHA client's contract suite, run over real HTTP against the simulator as a real process.

Each test uses its own session so the tests share one simulator process (which makes the suite fast);
the simulator's `/_sim` routes play the phone and inject faults.
"""
import itertools
import json
import re
import threading

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from runtime.gateway.errors import (AccountBanned, AmbiguousSend, InvalidPhone, PermanentGatewayError, RecipientRestricted,
                           RetryableGatewayError, SessionNotFound, SessionNotReady)
from runtime.gateway.waha import WahaClient
from bridge.webhooks import verify_signature
from tests.support import free_port, serve_sandbox, wait_for

pytestmark = pytest.mark.integration

API_KEY = "contract-api-key"
SECRET = "contract-hmac-secret"
QR_RE = re.compile(r"^https://wa\.me/settings/linked_devices#2@[^,]+(,[^,]+){3},1$")
CODE_RE = re.compile(r"^[1-9A-HJ-NP-TV-Z]{4}-[1-9A-HJ-NP-TV-Z]{4}$")
_ids = itertools.count(1000)


class Receiver:
    """A stand-in for the bridge relay that records what the gateway POSTs."""

    def __init__(self):
        self.received = []
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @Request.application
    def app(self, request):
        self.received.append((dict(request.headers), request.get_data()))
        return Response("{}", content_type="application/json")


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    with serve_sandbox("whatsapp", "whatsapp-sim", {"WAHA_API_KEY": API_KEY}, tmp_path_factory.mktemp("sim")) as url:
        yield url


@pytest.fixture
def client(gateway, receiver):
    requests.post(gateway + "/_sim/faults", json={"reset": True}, timeout=5)
    return WahaClient(gateway, API_KEY, webhook_url=receiver.url, webhook_secret=SECRET, timeout=3)


@pytest.fixture
def salon_id():
    return next(_ids)


def sim(gateway, path, **payload):
    response = requests.post(gateway + path, json=payload, timeout=5)
    assert response.ok, response.text
    return response.json()


def linked(client, gateway, salon_id, phone="79001234567"):
    client.ensure_session(salon_id)
    sim(gateway, f"/_sim/salon_{salon_id}/scan", phone=phone)
    return f"salon_{salon_id}"


def test_ensure_session_creates_a_started_session_once(client, salon_id):
    info = client.ensure_session(salon_id)
    assert info.name == f"salon_{salon_id}" and info.status in ("STARTING", "SCAN_QR_CODE")
    again = client.ensure_session(salon_id)
    assert again.status == "SCAN_QR_CODE"
    assert info.name in [s.name for s in client.list_sessions()]
    assert client.get_session(info.name).metadata == {"salon.id": str(salon_id)}


def test_the_api_key_is_required(gateway, client):
    with pytest.raises(PermanentGatewayError) as exc:
        WahaClient(gateway, "wrong", timeout=3).list_sessions()
    assert exc.value.status == 401


def test_unknown_sessions_are_not_found_and_delete_is_idempotent(client):
    with pytest.raises(SessionNotFound):
        client.get_session("salon_999999")
    client.delete_session("salon_999999")


def test_raw_qr_and_pairing_code_while_awaiting_a_link(client, salon_id):
    name = client.ensure_session(salon_id).name
    assert QR_RE.match(client.get_qr_raw(name))
    assert CODE_RE.match(client.request_code(name, "79001234567"))
    with pytest.raises(InvalidPhone):
        client.request_code(name, "0123")


def test_linking_by_scan_then_messages_and_chat_actions(client, gateway, salon_id):
    name = linked(client, gateway, salon_id)
    info = client.get_session(name)
    assert info.status == "WORKING" and info.me_phone == "79001234567"
    with pytest.raises(SessionNotReady):
        client.get_qr_raw(name)
    with pytest.raises(SessionNotReady):
        client.request_code(name, "79001234567")
    client.send_seen(name, "79001234567@c.us")
    client.start_typing(name, "79001234567@c.us")
    client.stop_typing(name, "79001234567@c.us")
    message_id = client.send_text(name, "79001234567@c.us", "Привет")
    recorded = requests.get(gateway + "/_sim/messages", params={"session": name}, timeout=5).json()
    assert [(m["id"], m["text"]) for m in recorded] == [(message_id, "Привет")]


def test_stop_keeps_credentials_logout_and_delete_remove_them(client, gateway, salon_id):
    name = linked(client, gateway, salon_id)
    client.stop_session(name)
    assert client.get_session(name).status == "STOPPED"
    assert client.ensure_session(salon_id).status == "WORKING"  # reconnects without a new link
    client.logout(name)
    assert client.get_session(name).status == "SCAN_QR_CODE"
    client.delete_session(name)
    with pytest.raises(SessionNotFound):
        client.get_session(name)


def test_send_errors_are_sorted_for_the_actors(client, gateway, salon_id):
    name = linked(client, gateway, salon_id)
    chat = "79001234567@c.us"
    sim(gateway, "/_sim/faults", send_5xx=1)
    with pytest.raises(RetryableGatewayError):
        client.send_text(name, chat, "1")
    sim(gateway, "/_sim/faults", down=True)
    with pytest.raises(RetryableGatewayError):
        client.send_text(name, chat, "2")
    sim(gateway, "/_sim/faults", reset=True, send_timeout=1.5)
    with pytest.raises(AmbiguousSend):
        WahaClient(gateway, API_KEY, timeout=0.5).send_text(name, chat, "3")
    sim(gateway, "/_sim/faults", reset=True)
    sim(gateway, f"/_sim/{name}/ban", code=463)
    with pytest.raises(RecipientRestricted):
        client.send_text(name, chat, "4")
    sim(gateway, f"/_sim/{name}/ban", code=101)
    with pytest.raises(AccountBanned):
        client.send_text(name, chat, "5")
    with pytest.raises(RetryableGatewayError):
        WahaClient(f"http://127.0.0.1:{free_port()}", API_KEY, timeout=2).send_text(name, chat, "6")


def test_sending_before_the_session_works_is_not_ready(client, salon_id):
    name = client.ensure_session(salon_id).name
    with pytest.raises(SessionNotReady):
        client.send_text(name, "79001234567@c.us", "too early")


def test_webhooks_are_signed_with_the_session_hmac_key_and_arrive_in_order(client, gateway, receiver, salon_id):
    start = len(receiver.received)
    name = linked(client, gateway, salon_id, phone="79005550000")
    sim(gateway, f"/_sim/{name}/incoming", **{"from": "79110000000", "text": "Здравствуйте"})

    def ours():
        out = []
        for headers, body in receiver.received[start:]:
            envelope = json.loads(body)
            if envelope["session"] == name:
                out.append((headers, body, envelope))
        return out if len(out) >= 4 else None

    events = wait_for(ours, timeout=15, message="4 webhooks")
    for headers, body, envelope in events:
        assert verify_signature(SECRET, body, headers.get("X-Webhook-Hmac"))
        assert headers.get("X-Webhook-Hmac-Algorithm") == "sha512"
        assert envelope["id"].startswith("evt_") and envelope["metadata"] == {"salon.id": str(salon_id)}
    kinds = [(e["event"], e["payload"].get("status")) for _, _, e in events]
    assert kinds == [("session.status", "STARTING"), ("session.status", "SCAN_QR_CODE"),
                     ("session.status", "WORKING"), ("message", None)]
    assert events[2][2]["me"]["id"] == "79005550000@c.us"


def test_the_linking_window_expires_after_160_seconds(client, gateway, salon_id):
    name = client.ensure_session(salon_id).name
    first = client.get_qr_raw(name)
    sim(gateway, "/_sim/clock", advance=61)
    assert client.get_qr_raw(name) != first
    sim(gateway, "/_sim/clock", advance=100)
    with pytest.raises(SessionNotReady):
        client.get_qr_raw(name)
    assert client.get_session(name).status == "FAILED"
    assert client.ensure_session(salon_id).status == "SCAN_QR_CODE"  # start again: a new window


def test_every_call_is_bounded_by_the_client_timeout(client, gateway, salon_id):
    name = client.ensure_session(salon_id).name
    sim(gateway, "/_sim/faults", delay=2)
    impatient = WahaClient(gateway, API_KEY, timeout=0.5)
    for call in (lambda: impatient.get_session(name), lambda: impatient.get_qr_raw(name),
                 lambda: impatient.request_code(name, "79001234567"), impatient.list_sessions):
        with pytest.raises(RetryableGatewayError) as exc:  # nothing was changed: safe to retry
            call()
        assert not isinstance(exc.value, AmbiguousSend)
    sim(gateway, "/_sim/faults", reset=True)
