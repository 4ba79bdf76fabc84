"""uninstall / freeze / reinstall: gateway calls, state, idempotency by state, retries on gateway errors."""
import datetime
import threading

import pytest

from bridge.errors import RetryableGatewayError
from models import salon as s
from models.db import utcnow
from models.live import LiveStatus
from models.salon import Salon
from models.timeline import TimelineEvent
from models.webhook_delivery import WebhookDelivery
from tests.unit.workers.lifecycle_fakes import FakeWaha, store
from workers.lifecycle import salon_state
from workers.lifecycle.deliveries import process_delivery

SALON = 962302
SESSION = f"salon_{SALON}"


@pytest.fixture
def waha():
    fake = FakeWaha()
    fake.link(SALON)
    return fake


@pytest.fixture
def live(redis_client):
    return LiveStatus(redis_client)


@pytest.fixture
def salon(database):
    return Salon.create(salon_id=SALON, state=s.ACTIVE, api_key="a" * 32, webhook_key="k" * 40,
                        whatsapp_state=s.WA_CONNECTED, registered_at=utcnow() - datetime.timedelta(days=3))


def event(name, settings, salon_id=SALON):
    return {"salon_id": salon_id, "application_id": settings.yclients_app_id, "event": name,
            "partner_token": settings.yclients_partner_token}


def process(delivery, database, waha, live=None):
    return process_delivery(delivery.id, db=database, waha=waha, live=live)


def reinstall(salon_id=SALON):
    """What the marketplace redirect does for an uninstalled or frozen salon (web/marketplace/registration.py)."""
    Salon.update(state=s.PENDING_WHATSAPP, registered_at=utcnow()).where(Salon.salon_id == salon_id).execute()


def timeline(kind):
    return TimelineEvent.select().where(TimelineEvent.salon_id == SALON, TimelineEvent.kind == kind).count()


def test_uninstall_deletes_the_gateway_session_clears_the_api_key_and_publishes(salon, database, waha, live, settings):
    effect = process(store(event("uninstall", settings)), database, waha, live)
    assert effect.outcome == "applied"
    assert waha.calls == [("delete", SESSION)]
    assert SESSION not in waha.sessions  # credentials gone with the session
    row = Salon.get_by_id(SALON)
    assert (row.state, row.api_key, row.whatsapp_state) == (s.UNINSTALLED, None, s.WA_STOPPED)
    assert timeline("uninstalled") == 1
    assert live.snapshot(SALON)["data"]["state"] == s.UNINSTALLED
    assert WebhookDelivery.get().processed_at is not None


def test_the_same_uninstall_delivered_three_times_has_one_effect(salon, database, waha, settings):
    deliveries = [store(event("uninstall", settings)) for _ in range(3)]
    outcomes = [process(d, database, waha).outcome for d in deliveries]
    assert outcomes == ["applied", "noop", "noop"]
    assert waha.count("delete") == 1
    assert timeline("uninstalled") == 1
    assert all(d.processed_at for d in WebhookDelivery.select())


def test_the_same_message_processed_three_times_has_one_effect(salon, database, waha, settings):
    delivery = store(event("uninstall", settings))
    for _ in range(3):
        process(delivery, database, waha)
    assert waha.count("delete") == 1 and timeline("uninstalled") == 1
    assert WebhookDelivery.get_by_id(delivery.id).outcome == "applied"


def test_concurrent_duplicates_make_one_transition(salon, database, waha, settings):
    deliveries = [store(event("uninstall", settings)) for _ in range(4)]
    barrier = threading.Barrier(4)
    errors = []

    def run(delivery):
        try:
            database.connect(reuse_if_open=True)
            barrier.wait()
            process(delivery, database, waha)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=run, args=(d,)) for d in deliveries]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    database.connect(reuse_if_open=True)
    assert not errors
    assert timeline("uninstalled") == 1
    assert sorted(d.outcome for d in WebhookDelivery.select()) == ["applied", "noop", "noop", "noop"]


def test_uninstall_reinstall_uninstall_within_a_day_applies_both_uninstalls(salon, database, waha, settings):
    first = store(event("uninstall", settings))
    assert process(first, database, waha).outcome == "applied"
    reinstall()
    waha.link(SALON)
    second = store(event("uninstall", settings))  # byte-identical to the first (I-30)
    assert second.body_hash == first.body_hash
    assert process(second, database, waha).outcome == "applied"
    assert waha.count("delete") == 2
    assert timeline("uninstalled") == 2
    assert Salon.get_by_id(SALON).state == s.UNINSTALLED


def test_an_uninstall_received_before_a_reinstall_does_not_undo_it(salon, database, waha, settings):
    late = store(event("uninstall", settings), received_at=utcnow() - datetime.timedelta(seconds=30))
    reinstall()
    assert process(late, database, waha).outcome == "superseded"
    assert waha.calls == [] and Salon.get_by_id(SALON).state == s.PENDING_WHATSAPP


def test_a_gateway_error_raises_for_a_retry_and_changes_nothing_until_it_succeeds(salon, database, waha, settings):
    delivery = store(event("uninstall", settings))
    waha.errors.append(RetryableGatewayError("502 from WAHA", status=502))
    with pytest.raises(RetryableGatewayError):
        process(delivery, database, waha)
    row = Salon.get_by_id(SALON)
    assert (row.state, row.api_key) == (s.ACTIVE, "a" * 32)
    assert WebhookDelivery.get_by_id(delivery.id).processed_at is None
    assert process(delivery, database, waha).outcome == "applied"  # the retry
    assert Salon.get_by_id(SALON).state == s.UNINSTALLED


def test_freeze_stops_the_session_but_keeps_credentials_and_the_api_key(salon, database, waha, live, settings):
    assert process(store(event("freeze", settings)), database, waha, live).outcome == "applied"
    assert waha.calls == [("stop", SESSION)]
    assert waha.sessions[SESSION] == {"status": "STOPPED", "creds": True}
    row = Salon.get_by_id(SALON)
    assert (row.state, row.api_key) == (s.FROZEN, "a" * 32)
    assert process(store(event("freeze", settings)), database, waha).outcome == "noop"
    assert waha.count("stop") == 1


def test_reinstall_after_freeze_reconnects_without_a_qr(salon, database, waha, settings):
    process(store(event("freeze", settings)), database, waha)
    reinstall()
    assert waha.ensure_session(SALON) == "WORKING"  # what start_whatsapp_session asks the gateway


def test_reinstall_after_uninstall_needs_a_new_qr(salon, database, waha, settings):
    process(store(event("uninstall", settings)), database, waha)
    reinstall()
    assert waha.ensure_session(SALON) == "SCAN_QR_CODE"


def test_freezing_without_a_running_session_is_fine(salon, database, settings):
    waha = FakeWaha()  # no session at the gateway
    assert process(store(event("freeze", settings)), database, waha).outcome == "applied"


def test_an_uninstalled_salon_is_not_frozen(salon, database, waha, settings):
    process(store(event("uninstall", settings)), database, waha)
    assert process(store(event("freeze", settings)), database, waha).outcome == "ignored"
    assert Salon.get_by_id(SALON).state == s.UNINSTALLED


def test_unknown_events_and_salons_are_stored_processed_and_ignored(salon, database, waha, settings):
    assert process(store(event("payment", settings)), database, waha).outcome == "ignored"
    assert process(store(event("uninstall", settings, salon_id=1)), database, waha).outcome == "ignored"
    assert waha.calls == []
    assert all(d.processed_at for d in WebhookDelivery.select())


def test_support_uninstall_has_the_same_effect(salon, database, waha):
    assert salon_state.uninstall(database, SALON, waha=waha, source="support").outcome == "applied"
    assert TimelineEvent.get(TimelineEvent.kind == "uninstalled").actor == "support"


def test_an_abandoned_onboarding_is_expired_once_per_install(database, waha, live):
    now = utcnow()
    Salon.create(salon_id=SALON, state=s.PENDING_WHATSAPP, registered_at=now - datetime.timedelta(hours=25),
                 whatsapp_state=s.WA_AWAITING_LINK)
    Salon.create(salon_id=2, state=s.PENDING_WHATSAPP, registered_at=now - datetime.timedelta(hours=2))
    assert salon_state.abandoned_onboardings(now) == [SALON]
    assert salon_state.expire_onboarding(database, SALON, waha=waha, live=live, now=now).outcome == "applied"
    assert waha.calls == [("stop", SESSION)]
    assert live.snapshot(SALON)["data"]["error"]["code"] == "onboarding_expired"
    assert salon_state.abandoned_onboardings(now) == []
    assert salon_state.expire_onboarding(database, SALON, waha=waha, now=now).outcome == "noop"
    assert waha.count("stop") == 1
    # Re-installed, abandoned again: expires again a day later.
    Salon.update(registered_at=now + datetime.timedelta(seconds=1)).where(Salon.salon_id == SALON).execute()
    later = now + datetime.timedelta(hours=25)
    assert sorted(salon_state.abandoned_onboardings(later)) == [2, SALON]


def test_the_actors_are_thin_wrappers_over_the_services(salon, database, waha, live, redis_client, settings):
    from workers import registry, runtime
    from workers.actors import lifecycle as actors

    rt = runtime.Runtime(settings=settings, database=database, redis=redis_client, broker=None, live=live,
                         services={"waha": waha})
    runtime.install(rt)
    try:
        delivery = store(event("freeze", settings))
        actors.process_webhook(delivery.id)
        assert Salon.get_by_id(SALON).state == s.FROZEN and waha.calls == [("stop", SESSION)]
        actors.uninstall_salon(SALON)
        assert Salon.get_by_id(SALON).state == s.UNINSTALLED
    finally:
        runtime.install(None)
    spec = registry.specs()["process_webhook"]
    assert spec.queue_name == "webhooks" and spec.options["max_retries"] > 0  # transient gateway errors retry
    from bridge.errors import PermanentGatewayError, RetryableGatewayError
    assert PermanentGatewayError in spec.options["throws"]
    assert not issubclass(RetryableGatewayError, spec.options["throws"])


def test_uninstall_ends_every_onboarding_session_and_tells_open_sockets(salon, database, waha, live, settings,
                                                                         redis_client):
    import json

    from models.live import channel

    pubsub = redis_client.pubsub()
    pubsub.subscribe(channel(SALON))
    pubsub.get_message(timeout=1)  # the subscribe confirmation
    process(store(event("uninstall", settings)), database, waha, live)
    assert Salon.get_by_id(SALON).session_generation == 1
    messages = []
    while (message := pubsub.get_message(timeout=1)) is not None:
        if message["type"] == "message":
            messages.append(json.loads(message["data"]))
    assert messages[-1]["type"] == "session_ended" and messages[-1]["data"] == {"generation": 1}
    assert "session_ended" not in (live.snapshot(SALON)["data"].get("error") or {}).get("code", "")
    process(store(event("uninstall", settings)), database, waha, live)  # a repeat changes nothing more
    assert Salon.get_by_id(SALON).session_generation == 1
    pubsub.close()
