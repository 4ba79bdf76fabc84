"""Queue bells (runtime/queue_bell.py): a real Dramatiq worker on a real Redis. A trickle of messages costs one
fetch each (Dramatiq's consumer polled ~3 times per message); an idle consumer is woken by the enqueue, not by
its next poll; a message that arrives without a ring is still found; the bell stays small; delays still hold."""
from __future__ import annotations

import threading
import time

import dramatiq
import pytest
import redis as redis_lib

from runtime.broker import build_broker, enqueue_many
from runtime.queue_bell import BELL_CAP, queue_keys
from tests.support import wait_for

QUEUE = "bellq"


@pytest.fixture
def broker(settings, redis_url):
    broker = build_broker(settings.replace(redis_url=redis_url))
    yield broker
    broker.close()


def _actor(broker, seen: list):
    def record(i):
        seen.append((i, time.monotonic()))
    return dramatiq.Actor(record, broker=broker, actor_name="bell_record", queue_name=QUEUE, priority=0, options={})


def _count_round_trips(monkeypatch) -> list:
    """Every Redis round trip (a command, or a pipeline) made by the consumer thread of QUEUE (not its delay
    queue's, not the worker threads' acks)."""
    from dramatiq.worker import ConsumerThread
    from redis.client import Pipeline

    trips = []

    def ours() -> bool:
        thread = threading.current_thread()
        return isinstance(thread, ConsumerThread) and thread.queue_name == QUEUE

    command, execute = redis_lib.Redis.execute_command, Pipeline.execute

    def counted_command(self, *args, **options):
        if ours() and not isinstance(self, Pipeline):
            trips.append(args[0])
        return command(self, *args, **options)

    def counted_execute(self, *args, **options):
        if ours():
            trips.append("pipeline")
        return execute(self, *args, **options)

    monkeypatch.setattr(redis_lib.Redis, "execute_command", counted_command)
    monkeypatch.setattr(Pipeline, "execute", counted_execute)
    return trips


def _worker(broker, timeout_ms: int):
    worker = dramatiq.Worker(broker, worker_timeout=timeout_ms, worker_threads=2)
    worker.start()
    return worker


def test_a_trickle_of_messages_costs_one_consumer_round_trip_per_message(broker, monkeypatch):
    seen: list = []
    actor = _actor(broker, seen)
    trips = _count_round_trips(monkeypatch)
    worker = _worker(broker, timeout_ms=100)  # the Procfile's worker timeout
    try:
        started = time.monotonic()
        for i in range(20):  # one at a time, each after the last was done: the queue is empty in between
            actor.send(i)
            wait_for(lambda: len(seen) == i + 1, timeout=10, message=f"message {i}")
            time.sleep(0.03)
        elapsed = time.monotonic() - started
    finally:
        worker.stop()
    # one round trip per message (wait for the ring + fetch), plus one per worker timeout of silence and the
    # first fetch; Dramatiq's own consumer polls an empty queue every 2.5-20 ms here: ~3-5 fetches per message
    assert len(trips) <= 20 + 1 + elapsed / 0.1, (len(trips), trips[:10])


def test_an_idle_consumer_is_woken_by_the_enqueue_not_by_its_next_poll(broker, monkeypatch):
    seen: list = []
    actor = _actor(broker, seen)
    trips = _count_round_trips(monkeypatch)
    worker = _worker(broker, timeout_ms=5000)  # a long worker timeout: Dramatiq backs off towards 5 s when idle
    try:
        time.sleep(3)  # idle
        idle_trips = len(trips)
        sent = time.monotonic()
        actor.send(1)
        wait_for(lambda: seen, timeout=10, message="the message")
    finally:
        worker.stop()
    # idle, the consumer waited on its bell (a fetch when it started, then one wait of up to 5 s); Dramatiq's
    # consumer polled ~10 times in those 3 s
    assert idle_trips <= 2, trips
    # woken by the ring: Dramatiq's consumer, 3 s idle, sleeps 1.3-2.6 s between polls
    assert seen[0][1] - sent < 0.5


def test_a_message_put_on_the_queue_without_a_ring_is_still_found(broker):
    seen: list = []
    _actor(broker, seen)
    worker = _worker(broker, timeout_ms=100)
    try:
        time.sleep(0.5)  # idle, waiting on the bell
        message = dramatiq.Message(queue_name=QUEUE, actor_name="bell_record", args=(7,), kwargs={}, options={})
        # as Dramatiq's own enqueue does it (or its maintenance putting back a dead worker's message): no ring
        broker._dispatch("enqueue")(QUEUE, "silent-1", message.encode())
        wait_for(lambda: seen, timeout=3, message="the silent message")  # the fetch after a timed-out wait
    finally:
        worker.stop()
    assert seen[0][0] == 7


def test_every_enqueue_of_ours_rings_and_the_bell_stays_small(broker, redis_url):
    client = redis_lib.Redis.from_url(redis_url)
    queue, messages, bell = queue_keys(broker.namespace, QUEUE)
    _actor(broker, [])
    message = dramatiq.Message(queue_name=QUEUE, actor_name="bell_record", args=(1,), kwargs={}, options={})
    broker.enqueue(message)
    assert client.llen(bell) == 1
    enqueue_many(broker, [message, message, message])
    assert client.llen(bell) == 4 and client.llen(queue) == 4 and client.hlen(messages) == 4
    for _ in range(BELL_CAP + 50):  # no consumer listening
        broker.enqueue(message)
    assert client.llen(bell) == BELL_CAP  # a ring is a hint, not a count
    assert client.llen(queue) == BELL_CAP + 54  # every message is on its queue


def test_a_delayed_message_still_waits_its_delay_then_runs(broker):
    seen: list = []
    actor = _actor(broker, seen)
    worker = _worker(broker, timeout_ms=100)
    try:
        sent = time.monotonic()
        actor.send_with_options(args=(3,), delay=400)
        wait_for(lambda: seen, timeout=10, message="the delayed message")
    finally:
        worker.stop()
    assert 0.4 <= seen[0][1] - sent < 2.0


def test_a_message_fetched_with_the_threads_busy_is_not_lost(broker):
    """More messages than threads and prefetch: the consumer stops fetching while full and every message runs."""
    seen: list = []
    release = threading.Event()

    def slow(i):
        release.wait(5)
        seen.append((i, time.monotonic()))

    actor = dramatiq.Actor(slow, broker=broker, actor_name="bell_slow", queue_name=QUEUE, priority=0, options={})
    worker = _worker(broker, timeout_ms=100)
    try:
        for i in range(12):  # 2 threads, prefetch 4
            actor.send(i)
        time.sleep(0.5)
        release.set()
        wait_for(lambda: len(seen) == 12, timeout=15, message="all twelve")
    finally:
        worker.stop()
    assert sorted(i for i, _ in seen) == list(range(12))


def _round_trips_of_worker_threads(monkeypatch) -> list:
    from dramatiq.worker import WorkerThread
    from redis.client import Pipeline

    trips = []
    command, execute = redis_lib.Redis.execute_command, Pipeline.execute

    def counted_command(self, *args, **options):
        if isinstance(threading.current_thread(), WorkerThread) and not isinstance(self, Pipeline):
            trips.append(args[0])
        return command(self, *args, **options)

    def counted_execute(self, *args, **options):
        if isinstance(threading.current_thread(), WorkerThread):
            trips.append("pipeline")
        return execute(self, *args, **options)

    monkeypatch.setattr(redis_lib.Redis, "execute_command", counted_command)
    monkeypatch.setattr(Pipeline, "execute", counted_execute)
    return trips


def _unacked(client, broker) -> tuple[int, int]:
    """(message bodies still stored, ids in this worker's ack set) for QUEUE."""
    _, messages, _ = queue_keys(broker.namespace, QUEUE)
    return client.hlen(messages), client.scard(f"{broker.namespace}:__acks__.{broker.broker_id}.{QUEUE}")


def test_a_finished_message_is_acked_with_the_consumers_next_round_trip_not_one_of_its_own(broker, redis_url,
                                                                                       monkeypatch):
    client = redis_lib.Redis.from_url(redis_url)
    seen: list = []
    actor = _actor(broker, seen)
    thread_trips = _round_trips_of_worker_threads(monkeypatch)
    worker = _worker(broker, timeout_ms=100)
    try:
        for i in range(10):
            actor.send(i)
        wait_for(lambda: len(seen) == 10, timeout=10, message="ten messages")
        # acked within about one worker timeout of finishing, by the consumer
        wait_for(lambda: _unacked(client, broker) == (0, 0), timeout=2, message="every message acked")
    finally:
        worker.stop()
    assert thread_trips == []  # Dramatiq's worker thread sends each ack itself: 10 round trips


def test_acks_still_owed_when_the_worker_stops_are_delivered(broker, redis_url):
    client = redis_lib.Redis.from_url(redis_url)
    seen: list = []
    actor = _actor(broker, seen)
    worker = _worker(broker, timeout_ms=2000)  # the consumer waits up to 2 s on its bell: the acks wait with it
    try:
        actor.send(1)
        actor.send(2)
        wait_for(lambda: len(seen) == 2, timeout=10, message="both messages")
    finally:
        worker.stop()
    assert _unacked(client, broker) == (0, 0)


def test_acks_a_failed_round_trip_could_not_deliver_are_delivered_by_the_next_consumer(broker, redis_url,
                                                                                      monkeypatch):
    from dramatiq.errors import ConnectionClosed

    client = redis_lib.Redis.from_url(redis_url)
    _actor(broker, [])
    broker.enqueue(dramatiq.Message(queue_name=QUEUE, actor_name="bell_record", args=(1,), kwargs={}, options={}))
    consumer = broker.consume(QUEUE, prefetch=4, timeout=100)
    message = next(consumer)
    consumer.ack(message)  # owed
    assert _unacked(client, broker) == (1, 1)
    real_pipeline = broker.client.pipeline

    class Broken:
        def __getattr__(self, name):
            return lambda *a, **k: self

        def execute(self, *a, **k):
            raise redis_lib.ConnectionError("Redis went away")

    monkeypatch.setattr(broker.client, "pipeline", lambda *a, **k: Broken())
    with pytest.raises(ConnectionClosed):
        next(consumer)
    monkeypatch.setattr(broker.client, "pipeline", real_pipeline)
    fresh = broker.consume(QUEUE, prefetch=4, timeout=100)  # what Dramatiq's consumer thread does next
    assert next(fresh) is None
    assert _unacked(client, broker) == (0, 0)
    fresh.close()
