"""On EACH failed attempt of a sync (and of activation) the page is told the attempt and when the next one
runs; the final failure says that no automatic attempt follows. Real Dramatiq worker on a StubBroker with
our middleware, real Redis and database; YCLIENTS is a fake that always answers 503."""
import json
import time

import pytest
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker

from models import salon as S
from models.live import LiveStatus, channel
from models.salon import Salon
from runtime.broker import build_middleware
from runtime.jobs import Jobs
from runtime.yclients.errors import TransientError
from tests.support import container_for
from workers import process, registry


class DownApi:
    """Every call answers like a YCLIENTS 503."""

    def __init__(self):
        self.calls = 0

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls += 1
            raise TransientError(f"YCLIENTS GET /{name}: 503 Service Unavailable", status=503)

        return call


@pytest.fixture
def broker(settings, database, redis_client):
    previous = process._current
    live = LiveStatus(redis_client)
    stub = StubBroker(middleware=build_middleware(database, live))
    registry.declare(stub)
    process.install(container_for(settings, database, redis_client, "worker", broker=stub, jobs=Jobs(stub),
                                  live=live, yclients=DownApi(), yclients_priority=DownApi()))
    worker = Worker(stub, queues={"sync", "onboarding"}, worker_timeout=50, worker_threads=1)
    worker.start()
    yield stub
    worker.stop()
    process._current = previous


def published(pubsub, event_type, until_count, timeout=20.0):
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline and len(seen) < until_count:
        message = pubsub.get_message(timeout=0.2)
        if message and message["type"] == "message":
            event = json.loads(message["data"])
            if event["type"] == event_type:
                seen.append(event["data"])
    return seen


def test_each_failed_sync_attempt_publishes_the_attempt_and_the_time_of_the_next(broker, redis_client):
    Salon.create(salon_id=962302, state=S.ACTIVE, activated_at=S.utcnow())
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel(962302))
    sent_at = time.time()
    broker.get_actor("sync_salon").send_with_options(args=(962302, "full"), max_retries=2, min_backoff=200,
                                                     max_backoff=400)
    events = published(pubsub, "sync", until_count=3)
    failed = [e for e in events if e["status"] == "failed"]
    assert [e["code"] for e in failed] == ["sync_retrying", "sync_retrying", "sync_failed"]
    assert [e.get("attempt") for e in failed] == [1, 2, None]
    assert all(e["max_attempts"] == 3 for e in failed[:2])
    for event in failed[:2]:  # the true time of the next attempt: now + the backoff Retries chose
        assert sent_at < event["retry_at"] < time.time() + 5
    assert "retry_at" not in failed[2]  # the last word: no automatic attempt follows
    pubsub.close()


def test_a_first_send_or_a_deliberate_delay_publishes_nothing(broker, redis_client):
    Salon.create(salon_id=962302, state=S.PENDING_WHATSAPP)  # sync skips it: nothing fails
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel(962302))
    broker.get_actor("sync_salon").send_with_options(args=(962302, "full"), delay=50)
    broker.join("sync", timeout=10_000)
    assert published(pubsub, "sync", until_count=1, timeout=1.0) == []
    pubsub.close()


def test_each_failed_activation_attempt_says_when_the_next_runs(broker, redis_client):
    Salon.create(salon_id=962302, state=S.WHATSAPP_CONNECTED, whatsapp_phone="79001234567")
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel(962302))
    broker.get_actor("activate_integration").send_with_options(args=(962302,), max_retries=1, min_backoff=200,
                                                               max_backoff=300)
    events = published(pubsub, "activation", until_count=3)
    assert [(e["status"], e["code"]) for e in events] == [
        ("started", "activation_started"), ("failed", "activation_retrying"), ("failed", "activation_failed")]
    assert events[1]["attempt"] == 1 and events[1]["max_attempts"] == 2 and events[1]["retry_at"] > time.time() - 5
    pubsub.close()
