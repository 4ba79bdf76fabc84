"""Gateway webhooks have a freshness window: a signed event with an old (or no, or far-future) timestamp is
refused and changes nothing, also after its dedup key expired; fresh events and WAHA's own retries pass."""
import pytest

from bridge import webhooks
from bridge.webhooks import DEDUP_PREFIX
from models import salon as S
from tests.fakes.gateway_sim import reload
from tests.fakes.relay import deliver, published


@pytest.fixture
def connected_event(sim, waha, salon, relay):
    """The WORKING event of a real link on the simulator, not yet delivered."""
    waha.ensure_session(42)
    deliver(sim, relay)
    sim.core.scan("salon_42", "79001234567")
    return sim.core.events[-1]


def test_a_signed_event_older_than_the_window_is_refused_and_not_applied(relay, connected_event, live, jobs, clock):
    seq = published(live)["seq"]
    clock.advance(webhooks.MAX_AGE_SECONDS + 1)
    response = relay.post_event(connected_event)
    assert response.status_code == 400 and "stale" in response.get_json()["error"]
    assert published(live)["seq"] == seq and not jobs.named("on_whatsapp_connected")
    assert reload().whatsapp_state != S.WA_CONNECTED


def test_a_replay_after_its_dedup_key_expired_is_still_refused(relay, connected_event, live, jobs, clock,
                                                               redis_client):
    assert relay.post_event(connected_event).get_json() == {"status": "applied"}
    seq = published(live)["seq"]
    redis_client.delete(DEDUP_PREFIX + connected_event["id"])  # a day later the dedup key is gone ...
    clock.advance(webhooks.DEDUP_TTL + 1)
    assert relay.post_event(connected_event).status_code == 400  # ... and the freshness window still holds
    assert published(live)["seq"] == seq and len(jobs.named("on_whatsapp_connected")) == 1


def test_within_the_window_a_retry_is_applied_once(relay, connected_event, live, jobs, clock):
    clock.advance(30)  # WAHA's retries span ~30 s
    assert relay.post_event(connected_event).get_json() == {"status": "applied"}
    clock.advance(60)
    assert relay.post_event(connected_event).get_json() == {"status": "duplicate"}
    assert len(jobs.named("on_whatsapp_connected")) == 1


@pytest.mark.parametrize("timestamp", [None, "yesterday", True, 0, -5, float("inf")])
def test_an_event_without_a_usable_timestamp_is_refused(relay, connected_event, jobs, timestamp):
    envelope = dict(connected_event)
    if timestamp is None:
        envelope.pop("timestamp")
    else:
        envelope["timestamp"] = timestamp
    assert relay.post_event(envelope).status_code == 400
    assert not jobs.named("on_whatsapp_connected")


def test_a_timestamp_far_in_the_future_is_refused_but_small_skew_is_tolerated(relay, connected_event, jobs, clock):
    ahead = dict(connected_event, id="evt_future", timestamp=int((clock() + webhooks.MAX_FUTURE_SECONDS + 5) * 1000))
    assert relay.post_event(ahead).status_code == 400
    skewed = dict(connected_event, timestamp=int((clock() + 30) * 1000))
    assert relay.post_event(skewed).get_json() == {"status": "applied"}


def test_the_simulator_stamps_envelopes_with_wall_time_even_after_advancing_its_timers():
    """Like WAHA: `/_sim/clock` ages the phone's timers, but envelopes keep the host's real time, so the
    bridge's freshness window holds for a simulator whose clock was advanced past it."""
    import time

    from sandbox.whatsapp.app import OffsetClock
    from sandbox.whatsapp.core import SimCore

    clock = OffsetClock()
    clock.offset = 3600.0
    core = SimCore(clock=clock)
    core.create("salon_5", {"metadata": {"salon.id": "5"}}, True)
    assert core.events and abs(core.events[-1]["timestamp"] / 1000 - time.time()) < 5
