import json

import pytest

from models import events
from models.live import LiveStatus, channel


@pytest.fixture
def live(redis_client):
    return LiveStatus(redis_client)


def test_snapshot_of_an_unknown_salon_has_every_slot_empty(live):
    snap = live.snapshot(7)
    assert snap["type"] == "snapshot" and snap["seq"] == 0 and snap["salon_id"] == 7
    assert snap["data"] == {"state": None, "qr": None, "pairing_code": None, "whatsapp": None, "activation": None,
                            "sync": None, "welcome": None, "complete": None, "error": None}


def test_publish_bumps_seq_and_keeps_the_latest_of_each_kind(live):
    s1 = live.publish(7, "qr", {"payload": "a", "svg": "<svg/>", "expires_in": 60}, state="pending_whatsapp")
    s2 = live.publish(7, "qr", {"payload": "b", "svg": "<svg/>", "expires_in": 20})
    s3 = live.publish(7, "sync", {"status": "running", "entity": "clients", "done": 200, "total": 1400})
    assert (s1, s2, s3) == (1, 2, 3)
    snap = live.snapshot(7)
    assert snap["seq"] == 3
    assert snap["data"]["state"] == "pending_whatsapp"
    assert snap["data"]["qr"]["payload"] == "b"
    assert snap["data"]["sync"]["done"] == 200


def test_published_event_has_the_contract_envelope(live, redis_client):
    pubsub = redis_client.pubsub()
    pubsub.subscribe(channel(9))
    pubsub.get_message(timeout=1)  # subscribe confirmation
    live.publish(9, "whatsapp_connected", {"phone": "79001234567"}, state="whatsapp_connected")
    message = pubsub.get_message(timeout=2)
    event = json.loads(message["data"])
    assert set(event) == {"type", "seq", "ts", "salon_id", "data"}
    assert event["type"] == "whatsapp_connected" and event["seq"] == 1 and event["salon_id"] == 9
    assert event["data"] == {"phone": "79001234567"}
    pubsub.close()


def test_salons_do_not_share_seq_or_snapshot(live):
    live.publish(1, "activation", {"status": "done"})
    assert live.snapshot(2)["seq"] == 0
    assert live.snapshot(2)["data"]["activation"] is None


def test_event_missing_required_data_is_refused(live):
    with pytest.raises(events.EventError):
        live.publish(1, "sync", {"status": "running"})
    with pytest.raises(events.EventError):
        live.publish(1, "no_such_type", {})


def test_unicode_text_survives(live):
    live.publish(3, "error", {"code": "link_expired", "message": "Код истёк — получите новый"})
    assert live.snapshot(3)["data"]["error"]["message"] == "Код истёк — получите новый"


def test_lost_snapshot_is_rebuilt_by_the_fallback(redis_client):
    live = LiveStatus(redis_client, rebuild=lambda salon_id: {"state": "active", "qr": None})
    assert live.snapshot(5)["data"]["state"] == "active"


def test_set_state_can_drop_slots_in_the_same_single_call(live, redis_client, monkeypatch):
    live.publish(7, "qr", {"payload": "a", "svg": "<svg/>", "expires_in": 60}, state="active")
    live.publish(7, "sync", {"status": "running", "entity": "clients", "done": 200, "total": 1400})
    live.set_state(8, "active")  # the script is loaded into Redis once
    sent = []
    execute = redis_client.execute_command
    monkeypatch.setattr(redis_client, "execute_command", lambda *a, **k: (sent.append(a[0]), execute(*a, **k))[1])
    seq = live.set_state(7, "pending_whatsapp", clear=("qr", "sync", "complete"))
    assert sent == ["EVALSHA"] and seq == 3  # one round trip (the redirect's reinstall reset)
    snap = live.snapshot(7)
    assert snap["data"]["state"] == "pending_whatsapp" and snap["data"]["qr"] is None and snap["data"]["sync"] is None
