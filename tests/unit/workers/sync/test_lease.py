"""The per-salon lease: one holder, its own redelivery takes it back, a dead holder frees it within the TTL."""
import time

from tests.support import wait_for
from workers.sync.lease import Lease


def test_one_holder_at_a_time_and_release_only_by_the_owner(redis_client):
    a = Lease(redis_client, "sync:1", owner="a", ttl=5)
    b = Lease(redis_client, "sync:1", owner="b", ttl=5)
    assert a.acquire() and not b.acquire()
    b.release()  # not the owner: no effect
    assert a.holder() == "a"
    a.release()
    assert b.acquire()


def test_the_same_owner_gets_its_lease_back(redis_client):
    assert Lease(redis_client, "sync:1", owner="msg-7", ttl=5).acquire()
    assert Lease(redis_client, "sync:1", owner="msg-7", ttl=5).acquire()


def test_a_holder_that_stops_refreshing_frees_the_lease_within_its_ttl(redis_client):
    assert Lease(redis_client, "sync:1", owner="dead", ttl=0.3).acquire()
    other = Lease(redis_client, "sync:1", owner="alive", ttl=0.3)
    assert not other.acquire()
    wait_for(other.acquire, timeout=2, message="lease to lapse")


def test_the_heartbeat_keeps_a_live_holder_s_lease(redis_client):
    live = Lease(redis_client, "sync:1", owner="live", ttl=0.3)
    assert live.acquire()
    live.start_heartbeat()
    try:
        time.sleep(0.8)  # well past the TTL: only the heartbeat keeps it
        assert not Lease(redis_client, "sync:1", owner="other", ttl=0.3).acquire()
    finally:
        live.release()
    assert redis_client.get("aiadmin:lease:sync:1") is None
