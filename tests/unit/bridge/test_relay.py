"""The relay (POST /waha/webhook): signatures, dedup, and the mapping of WAHA events to our status events."""
import json

import pytest

from bridge.dispatch import INBOUND_QUEUE_KEY
from bridge.webhooks import sign
from models import salon as S
from models.timeline import TimelineEvent
from tests.fakes.gateway_sim import reload
from tests.fakes.relay import deliver, published


@pytest.fixture
def linking(sim, waha, salon):
    waha.ensure_session(42)
    return sim


def test_a_missing_or_bad_signature_is_refused_and_publishes_nothing(relay, linking, live, jobs, settings):
    envelope = linking.core.events[-1]
    body = json.dumps(envelope).encode()
    assert relay.post_event(envelope, secret="").status_code == 401
    assert relay.post_event(envelope, signature=sign("wrong-secret", body), raw=body).status_code == 401
    tampered = body.replace(b"SCAN_QR_CODE", b"WORKING")
    assert relay.post_event(None, signature=sign(settings.waha_webhook_secret, body), raw=tampered).status_code == 401
    assert published(live)["seq"] == 0 and jobs.sent == []
    assert reload().whatsapp_state == S.WA_STOPPED


def test_qr_events_carry_the_raw_payload_an_svg_and_60_then_20_seconds(relay, linking, live, clock):
    index = deliver(linking, relay)
    qr = published(live)["data"]["qr"]
    assert qr["payload"] == linking.core.current_qr("salon_42")
    assert qr["svg"].startswith("<svg") and qr["expires_in"] == 60
    assert reload().whatsapp_state == S.WA_AWAITING_LINK
    expiries = []
    for step in (60, 20, 20, 20, 20):
        clock.advance(step)
        linking.core.tick()
        index = deliver(linking, relay, index)
        expiries.append(published(live)["data"]["qr"]["expires_in"])
        assert published(live)["data"]["qr"]["payload"] == linking.core.current_qr("salon_42")
    assert expiries == [20, 20, 20, 20, 20]


def test_a_duplicate_event_id_is_applied_once(relay, linking, live, jobs):
    deliver(linking, relay)
    linking.core.scan("salon_42", "79001234567")
    working = linking.core.events[-1]
    seq = published(live)["seq"]
    assert relay.post_event(working).get_json() == {"status": "applied"}
    assert relay.post_event(working).get_json() == {"status": "duplicate"}
    assert published(live)["seq"] == seq + 1
    assert jobs.named("on_whatsapp_connected") == [((42,), None)]


def test_qr_link_ends_connected_with_plain_digits_once_even_if_working_repeats(relay, linking, live, jobs):
    linking.core.faults["me_with_device"] = True  # me.id = 79001234567:NN@c.us
    index = deliver(linking, relay)
    linking.core.scan("salon_42", "79001234567")
    index = deliver(linking, relay, index)
    salon = reload()
    assert salon.whatsapp_state == S.WA_CONNECTED and salon.whatsapp_phone == "79001234567"
    assert salon.whatsapp_connected_at is not None
    assert published(live)["data"]["whatsapp"] == {"phone": "79001234567"}
    # WAHA re-sends WORKING (new event ids), also around a transient reconnect: no second transition.
    working = linking.core.events[-1]
    starting = dict(working, id="evt_starting", me=None, payload={"status": "STARTING"})
    for envelope in (dict(working, id="evt_again"), starting, dict(working, id="evt_back")):
        assert relay.post_event(envelope).status_code == 200
    assert reload().whatsapp_state == S.WA_CONNECTED
    assert jobs.named("on_whatsapp_connected") == [((42,), None)]
    assert TimelineEvent.select().where(TimelineEvent.kind == "whatsapp_connected").count() == 1


def test_an_expired_window_publishes_link_expired(relay, linking, live, clock):
    index = deliver(linking, relay)
    clock.advance(160)
    linking.core.tick()
    deliver(linking, relay, index)
    error = published(live)["data"]["error"]
    assert error["code"] == "link_expired" and "истекло" in error["message"]
    assert reload().whatsapp_state == S.WA_FAILED


def test_a_remote_logout_after_connecting_publishes_logged_out(relay, linking, live):
    linking.core.scan("salon_42", "79001234567")
    index = deliver(linking, relay)
    linking.core.remote_logout("salon_42")
    deliver(linking, relay, index)
    assert published(live)["data"]["error"]["code"] == "logged_out"
    assert reload().whatsapp_state == S.WA_LOGGED_OUT


def test_inbound_messages_are_queued_for_the_assistant_and_our_own_are_skipped(relay, linking, redis_client):
    linking.core.scan("salon_42", "79001234567")
    index = deliver(linking, relay)
    linking.core.incoming("salon_42", "79110000000", "Хочу записаться на стрижку")
    deliver(linking, relay, index)
    own = dict(linking.core.events[-1], id="evt_own", payload=dict(linking.core.events[-1]["payload"], fromMe=True))
    assert relay.post_event(own).get_json() == {"status": "ignored"}
    queued = [json.loads(x) for x in redis_client.lrange(INBOUND_QUEUE_KEY, 0, -1)]
    assert len(queued) == 1
    assert queued[0]["salon_id"] == 42 and queued[0]["from_phone"] == "79110000000"
    assert queued[0]["chat_id"] == "79110000000@c.us" and queued[0]["text"] == "Хочу записаться на стрижку"


def test_a_failure_while_applying_releases_the_event_so_the_retry_is_applied(relay, linking, live):
    envelope = linking.core.events[-1]  # SCAN_QR_CODE
    linking.core.faults["down"] = True  # the QR fetch fails
    assert relay.post_event(envelope).status_code == 500
    assert live.snapshot(42)["data"]["qr"] is None
    linking.core.faults.clear()
    assert relay.post_event(envelope).get_json() == {"status": "applied"}
    assert live.snapshot(42)["data"]["qr"]["expires_in"] == 60


def test_webhooks_for_unknown_sessions_are_acknowledged_and_ignored(relay, linking, live):
    envelope = dict(linking.core.events[-1], id="evt_x", session="default", metadata={})
    assert relay.post_event(envelope).get_json() == {"status": "ignored"}


def test_the_same_qr_announced_twice_keeps_its_60_seconds(relay, linking, live):
    index = deliver(linking, relay)
    seq = published(live)["seq"]
    again = dict(linking.core.events[-1], id="evt_same_qr_again")
    assert relay.post_event(again).get_json() == {"status": "applied"}
    assert published(live)["seq"] == seq  # nothing new to show
    linking.core.clock.advance(60)
    linking.core.tick()
    deliver(linking, relay, index)
    assert published(live)["data"]["qr"]["expires_in"] == 20  # the real second code
