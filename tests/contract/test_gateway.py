"""One contract for the WhatsApp gateway, run against the shipped StubGateway and against the simulator
process over real HTTP (the WahaClient): what the services rely on holds for both."""
import itertools

import pytest
import requests

from runtime.gateway.errors import SessionNotFound, SessionNotReady
from runtime.gateway.naming import session_name
from runtime.gateway.stub import StubGateway
from runtime.gateway.waha import WahaClient
from tests.support import serve_sandbox

API_KEY = "contract-api-key"
_ids = itertools.count(5000)


class OverHttp:
    """The real client against `python -m sandbox.whatsapp serve`; `link` is the phone scanning the QR."""

    def __init__(self, url):
        self.url = url
        self.client = WahaClient(url, API_KEY, webhook_url="http://127.0.0.1:9", timeout=5)

    def link(self, salon_id, phone="79001234567"):
        response = requests.post(f"{self.url}/_sim/{session_name(salon_id)}/scan", json={"phone": phone}, timeout=5)
        assert response.ok, response.text


@pytest.fixture(scope="module")
def simulator(tmp_path_factory):
    with serve_sandbox("whatsapp", "whatsapp-sim", {"WAHA_API_KEY": API_KEY}, tmp_path_factory.mktemp("sim")) as url:
        yield url


@pytest.fixture(params=["stub", pytest.param("simulator", marks=pytest.mark.integration)])
def gateway(request):
    """(the Gateway, a function playing the phone that links a salon)"""
    if request.param == "stub":
        stub = StubGateway()
        return stub, stub.link
    remote = OverHttp(request.getfixturevalue("simulator"))
    return remote.client, remote.link


@pytest.fixture
def salon_id():
    return next(_ids)


def test_a_new_session_waits_for_a_link_and_ensuring_it_again_changes_nothing(gateway, salon_id):
    gw, _ = gateway
    info = gw.ensure_session(salon_id)
    assert info.name == session_name(salon_id) and info.status in ("STARTING", "SCAN_QR_CODE")
    assert gw.ensure_session(salon_id).status == "SCAN_QR_CODE"
    assert gw.get_session(info.name).metadata == {"salon.id": str(salon_id)}
    assert info.name in [s.name for s in gw.list_sessions()]


def test_a_linked_session_works_and_reports_the_phone(gateway, salon_id):
    gw, link = gateway
    name = gw.ensure_session(salon_id).name
    link(salon_id, "79001234567")
    info = gw.get_session(name)
    assert info.status == "WORKING" and info.me_phone == "79001234567"
    assert gw.send_text(name, "79005550011@c.us", "Привет")


def test_stop_keeps_the_credentials_so_a_start_reconnects_without_a_new_link(gateway, salon_id):
    gw, link = gateway
    name = gw.ensure_session(salon_id).name
    link(salon_id)
    gw.stop_session(name)
    assert gw.get_session(name).status == "STOPPED"
    assert gw.ensure_session(salon_id).status == "WORKING"


def test_logout_drops_the_credentials_and_a_running_session_waits_for_a_new_link(gateway, salon_id):
    gw, link = gateway
    name = gw.ensure_session(salon_id).name
    link(salon_id)
    gw.logout(name)
    assert gw.get_session(name).status == "SCAN_QR_CODE" and gw.get_session(name).me_phone == ""


def test_delete_drops_the_session_and_is_idempotent(gateway, salon_id):
    gw, link = gateway
    name = gw.ensure_session(salon_id).name
    link(salon_id)
    gw.delete_session(name)
    with pytest.raises(SessionNotFound):
        gw.get_session(name)
    gw.delete_session(name)
    assert gw.ensure_session(salon_id).status == "SCAN_QR_CODE"  # a new session needs a new link


def test_an_unknown_session_is_not_found(gateway):
    gw, _ = gateway
    with pytest.raises(SessionNotFound):
        gw.get_session("salon_999999")
    with pytest.raises(SessionNotFound):
        gw.stop_session("salon_999999")


def test_the_qr_and_a_pairing_code_exist_only_while_waiting_for_a_link(gateway, salon_id):
    gw, link = gateway
    name = gw.ensure_session(salon_id).name
    assert gw.get_qr_raw(name).startswith("2@") or "#2@" in gw.get_qr_raw(name)
    assert len(gw.request_code(name, "79001234567").replace("-", "")) == 8
    link(salon_id)
    with pytest.raises(SessionNotReady):
        gw.get_qr_raw(name)


def test_sending_needs_a_working_session(gateway, salon_id):
    gw, _ = gateway
    name = gw.ensure_session(salon_id).name
    with pytest.raises(SessionNotReady):
        gw.send_text(name, "79005550011@c.us", "too early")
