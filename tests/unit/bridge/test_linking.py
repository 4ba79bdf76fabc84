"""Linking commands: start, pairing codes (only while awaiting, one in flight, one per 30 s), restarts
(5 per hour), and both ways of linking ending in whatsapp_connected with a plain-digit phone."""
import re

import pytest

from bridge import linking
from runtime.gateway.errors import RetryableGatewayError
from runtime.gateway.waha import WahaClient
from models import salon as S
from tests.support import free_port
from tests.fakes.gateway_sim import reload
from tests.fakes.relay import deliver

CODE_RE = re.compile(r"^[1-9A-HJ-NP-TV-Z]{4}-[1-9A-HJ-NP-TV-Z]{4}$")


def data(live, slot):
    return live.snapshot(42)["data"][slot]


def test_start_is_idempotent_and_awaits_a_link(deps, sim, salon):
    assert linking.start_session(deps, 42) == "SCAN_QR_CODE"
    events = len(sim.core.events)
    assert linking.start_session(deps, 42) == "SCAN_QR_CODE"
    assert len(sim.core.events) == events  # no restart, no new window
    assert reload().whatsapp_state == S.WA_AWAITING_LINK
    config = sim.core.sessions["salon_42"].config
    assert config["metadata"] == {"salon.id": "42"}
    hook = config["webhooks"][0]
    assert hook["url"] == "http://127.0.0.1:5001/waha/webhook" and hook["hmac"] == {"key": "test-waha-hmac-secret"}
    assert set(hook["events"]) >= {"session.status", "message"}


@pytest.mark.parametrize("failure", ["down", "refused"])
def test_start_with_the_gateway_down_says_so_and_retries(deps, sim, salon, live, failure):
    if failure == "down":
        sim.core.faults["down"] = True
    else:
        deps.waha = WahaClient(f"http://127.0.0.1:{free_port()}", "k", timeout=2)
    with pytest.raises(RetryableGatewayError):
        linking.start_session(deps, 42)
    assert data(live, "error")["code"] == "gateway_unavailable"


def test_start_with_stored_credentials_connects_without_a_new_link(deps, sim, salon, live, jobs):
    sim.core.create("salon_42", {})
    sim.core.scan("salon_42", "79001234567")
    sim.core.stop("salon_42")
    assert linking.start_session(deps, 42) == "WORKING"
    assert reload().whatsapp_phone == "79001234567"
    assert data(live, "whatsapp") == {"phone": "79001234567"}
    assert jobs.named("on_whatsapp_connected") == [((42,), None)]


def test_a_pairing_code_is_refused_unless_a_link_is_awaited(deps, sim, salon, live):
    assert linking.request_pairing_code(deps, 42, "79001234567") is None
    assert data(live, "error")["code"] == "not_awaiting_link"


def test_an_invalid_phone_is_refused_before_asking_the_gateway(deps, sim, salon, live):
    linking.start_session(deps, 42)
    assert linking.request_pairing_code(deps, 42, "12345") is None
    assert data(live, "error")["code"] == "invalid_phone"
    assert sim.core.sessions["salon_42"].pairing is None


def test_pairing_code_is_published_at_most_once_per_30_seconds(deps, sim, salon, live, clock):
    linking.start_session(deps, 42)
    code = linking.request_pairing_code(deps, 42, "8 (900) 123-45-67")
    assert CODE_RE.match(code)
    assert data(live, "pairing_code") == {"code": code, "expires_in": 60}
    assert sim.core.sessions["salon_42"].pairing["phone"] == "79001234567"
    clock.advance(29)
    assert linking.request_pairing_code(deps, 42, "79001234567") is None
    assert data(live, "error")["code"] == "too_many_requests"
    assert sim.core.sessions["salon_42"].pairing["code"] == code  # the gateway was not asked again
    clock.advance(2)
    assert linking.request_pairing_code(deps, 42, "79001234567") not in (None, code)


def test_only_one_pairing_request_is_in_flight_per_salon(deps, sim, salon, live, redis_client):
    linking.start_session(deps, 42)
    redis_client.set(linking.pairing_lock_key(42), "another-worker", ex=20)
    assert linking.request_pairing_code(deps, 42, "79001234567") is None
    assert data(live, "error")["code"] == "request_in_progress"
    assert sim.core.sessions["salon_42"].pairing is None
    assert redis_client.get(linking.pairing_lock_key(42)) == b"another-worker"  # not ours to release


def test_pairing_code_link_ends_connected_and_qr_rotation_never_requests_a_new_code(
        deps, sim, salon, live, relay, clock, jobs):
    sim.core.faults["me_with_device"] = True
    linking.start_session(deps, 42)
    index = deliver(sim, relay)
    code = linking.request_pairing_code(deps, 42, "+7 900 123 45 67")
    clock.advance(61)
    sim.core.tick()
    index = deliver(sim, relay, index)  # a QR rotation
    assert data(live, "qr")["expires_in"] == 20
    assert data(live, "pairing_code")["code"] == code
    assert sim.core.sessions["salon_42"].pairing["code"] == code
    sim.core.enter_code("salon_42", code)
    deliver(sim, relay, index)
    assert data(live, "whatsapp") == {"phone": "79001234567"}
    assert reload().whatsapp_phone == "79001234567"
    assert jobs.named("on_whatsapp_connected") == [((42,), None)]


def test_an_expired_window_can_be_restarted_and_then_linked_by_qr(deps, sim, salon, live, relay, clock):
    linking.start_session(deps, 42)
    index = deliver(sim, relay)
    clock.advance(160)
    sim.core.tick()
    index = deliver(sim, relay, index)
    assert data(live, "error")["code"] == "link_expired"
    assert linking.restart_linking(deps, 42) is True
    assert data(live, "error") is None  # the stale error is gone from the snapshot
    index = deliver(sim, relay, index)
    assert data(live, "qr")["expires_in"] == 60  # a new window starts with a 60 s code
    assert reload().whatsapp_state == S.WA_AWAITING_LINK
    sim.core.scan("salon_42", "79007654321", data(live, "qr")["payload"])
    deliver(sim, relay, index)
    assert data(live, "whatsapp") == {"phone": "79007654321"}


def test_restarts_are_limited_to_5_per_sliding_hour(deps, sim, salon, live, clock):
    linking.start_session(deps, 42)
    for _ in range(5):
        assert linking.restart_linking(deps, 42) is True
        clock.advance(600)
    events = len(sim.core.events)
    assert linking.restart_linking(deps, 42) is False
    assert data(live, "error")["code"] == "too_many_restarts"
    assert len(sim.core.events) == events  # the gateway was not touched
    clock.advance(601)  # the first restart is now more than an hour old
    assert linking.restart_linking(deps, 42) is True


def test_a_restart_that_fails_on_the_gateway_does_not_use_up_the_budget(deps, sim, salon, live):
    linking.start_session(deps, 42)
    sim.core.faults["down"] = True
    for _ in range(6):
        with pytest.raises(RetryableGatewayError):
            linking.restart_linking(deps, 42)
    sim.core.faults.clear()
    assert linking.restart_linking(deps, 42) is True


def test_a_code_requested_before_the_qr_webhook_arrived_asks_the_gateway(deps, sim, salon, live):
    sim.core.create("salon_42", {})  # SCAN_QR_CODE at the gateway, while we still think "starting"
    from models.salon import Salon

    Salon.update(whatsapp_state=S.WA_STARTING).execute()
    assert CODE_RE.match(linking.request_pairing_code(deps, 42, "79001234567"))
    assert reload().whatsapp_state == S.WA_AWAITING_LINK


def test_a_code_for_a_session_the_gateway_does_not_have_is_refused(deps, sim, salon, live):
    from models.salon import Salon

    Salon.update(whatsapp_state=S.WA_STARTING).execute()
    assert linking.request_pairing_code(deps, 42, "79001234567") is None
    assert data(live, "error")["code"] == "not_awaiting_link"
