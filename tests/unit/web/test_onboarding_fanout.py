"""The process-wide status fan-out: one subscription, per-socket queues, overflow and reconnect handled."""
from __future__ import annotations

import pytest

from models.live import LiveStatus
from tests.support import wait_for
from web.marketplace import fanout as fanout_module
from web.marketplace.fanout import RESYNC, Fanout


@pytest.fixture
def fanout(redis_client):
    f = Fanout(redis_client, poll_timeout=0.1, max_backoff=0.2)
    yield f
    f.stop()


def test_events_reach_only_the_queues_of_their_salon(fanout, redis_client):
    live = LiveStatus(redis_client)
    a, b = fanout.subscribe([1]), fanout.subscribe([2])
    live.publish(1, "complete", {})
    salon_id, seq, text = a.queue.get(timeout=5)
    assert (salon_id, seq) == (1, 1) and '"type":"complete"' in text
    assert b.queue.empty()
    fanout.unsubscribe(a)
    fanout.unsubscribe(b)
    assert fanout.subscriber_count() == 0


def test_the_listener_starts_once_and_uses_one_connection(fanout, redis_client):
    subs = [fanout.subscribe([i]) for i in range(20)]
    listeners = [c for c in redis_client.client_list() if int(c.get("psub", 0))]
    assert len(listeners) == 1
    for sub in subs:
        fanout.unsubscribe(sub)


def test_a_full_queue_marks_the_subscriber_for_a_resync_instead_of_blocking(fanout, redis_client):
    live = LiveStatus(redis_client)
    sub = fanout.subscribe([1])
    sub.queue.maxsize = 3  # a socket that stopped reading
    for _ in range(5):
        live.publish(1, "complete", {})
    wait_for(lambda: sub.overflowed, timeout=5, message="the overflow flag")
    assert sub.queue.qsize() == 3


def test_after_losing_redis_the_listener_resubscribes_and_asks_for_a_resync(fanout, redis_client):
    sub = fanout.subscribe([1])
    redis_client.client_kill_filter(_type="pubsub")
    assert sub.queue.get(timeout=10) == RESYNC
    assert fanout.reconnects == 1
    LiveStatus(redis_client).publish(1, "complete", {})
    assert sub.queue.get(timeout=5)[1] == 1


def test_a_malformed_message_on_the_channel_is_skipped(fanout, redis_client):
    sub = fanout.subscribe([1])
    redis_client.publish("aiadmin:status:1", "not json")
    LiveStatus(redis_client).publish(1, "complete", {})
    assert sub.queue.get(timeout=5)[1] == 1


def test_subscribing_fails_fast_when_redis_is_unreachable():
    import redis

    dead = redis.Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.2)
    f = Fanout(dead, poll_timeout=0.1, max_backoff=0.2)
    with pytest.raises(redis.ConnectionError):
        f.subscribe([1], wait=0.5)
    assert f.subscriber_count() == 0
    f.stop()
    assert fanout_module.QUEUE_SIZE >= 100
