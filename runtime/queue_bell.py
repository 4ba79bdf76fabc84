"""Queue bells: an idle consumer waits in Redis for the next message instead of polling for it.

Dramatiq's Redis consumer polls an empty queue with its `fetch` script, backing off from ~5 ms up to the worker
timeout. Under a steady trickle of messages (the redirect's install checks, one per owner) the queue is empty
again after every message, so each message cost ~3 fetches; profiled, fetching was a quarter of the check
worker's CPU (docs/performance/redirect.md, round 3).

Here every enqueue of ours is one small script that stores the message, puts its id on the queue (exactly
what Dramatiq's `enqueue` does) and rings the queue's bell: one entry on the list `<queue>.bell`, capped at
BELL_CAP. A consumer whose last fetch left the queue empty sends, in one pipelined round trip, a BLPOP on the
bell (up to the worker timeout, so it still looks at its delayed messages and at shutdown as often as before)
and Dramatiq's own `fetch`, which Redis runs the moment the wait ends: one ring, one round trip, one message.
The acks of messages the worker threads finished ride in the same pipeline instead of costing each thread a
round trip (a noop message cost 1.9 ms of worker CPU at 120/s, two thirds of it these Redis calls). The
scripts that fetch and ack, heartbeats and maintenance are Dramatiq's own, unchanged.

A message can reach a queue without a ring: Dramatiq's maintenance puts back a dead worker's unacked messages,
and an enqueuer other than ours (a plain RedisBroker) does not ring. The fetch after a wait that timed out
finds it: at worst one worker timeout later, as Dramatiq's own polling at its longest backoff.
"""
from __future__ import annotations

import threading
import time

import redis
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import compute_backoff, current_millis
from dramatiq.errors import ConnectionClosed
from dramatiq.message import Message
from redis.commands.core import Script
from redis.exceptions import NoScriptError

BELL_CAP = 100  # rings kept: enough to wake every consumer of a queue at once; a ring is a hint, not a count

# KEYS queue list, messages hash, bell; ARGV redis message id, encoded message. What Dramatiq's dispatch.lua
# does for `enqueue` (no delay), then the ring. For a script of ours that enqueues as one of its steps too
# (web/marketplace/check_gate.py), formatted with its own KEYS/ARGV names.
PUSH_LUA = ("redis.call('HSET', {messages}, {id}, {data}); redis.call('RPUSH', {queue}, {id}); "
            "redis.call('RPUSH', {bell}, '1'); redis.call('LTRIM', {bell}, -" + str(BELL_CAP) + ", -1)")
ENQUEUE_LUA = PUSH_LUA.format(queue="KEYS[1]", messages="KEYS[2]", bell="KEYS[3]", id="ARGV[1]", data="ARGV[2]")


def queue_keys(namespace: str, queue_name: str) -> tuple[str, str, str]:
    """(queue list, messages hash, bell) of a queue (its delay queue is a queue of its own: `<name>.DQ`)."""
    queue = f"{namespace}:{queue_name}"
    return queue, f"{queue}.msgs", f"{queue}.bell"


class BellRedisBroker(RedisBroker):
    """Dramatiq's Redis broker whose enqueues ring and whose consumers wait for a ring when their queue is empty.
    It also keeps the acks its consumers owe Redis (`pending_acks`, per queue) until their next round trip."""

    def __init__(self, **options):
        super().__init__(**options)
        self.enqueue_script = Script(self.client, ENQUEUE_LUA)
        self.pending_acks: dict[str, list[str]] = {}
        self.acks_lock = threading.Lock()

    @property
    def consumer_class(self):
        return BellConsumer

    def do_enqueue(self, queue_name: str, message_id: str, data) -> None:
        """RedisBroker.enqueue's store step (after its hooks, delay already applied to `queue_name`)."""
        self.enqueue_script(keys=queue_keys(self.namespace, queue_name), args=[message_id, data])

    def take_acks(self, queue_name: str) -> list[str]:
        with self.acks_lock:
            return self.pending_acks.pop(queue_name, [])

    def give_back_acks(self, queue_name: str, message_ids: list[str]) -> None:
        """Acks a round trip did not deliver (the connection failed): the next one (a restarted consumer's) will."""
        if message_ids:
            with self.acks_lock:
                self.pending_acks[queue_name] = message_ids + self.pending_acks.get(queue_name, [])


class BellConsumer(_RedisConsumer):
    """_RedisConsumer whose wait on an empty queue is a BLPOP on the queue's bell, pipelined with the fetch that
    follows it, and whose acks ride along: one round trip acks what the worker threads finished, waits for the
    next message and fetches it."""

    def __init__(self, broker, queue_name, prefetch, timeout):
        super().__init__(broker, queue_name, prefetch, timeout)
        self.bell = queue_keys(broker.namespace, queue_name)[2]
        self.drained = False  # the last fetch left the queue empty: the next one waits for a ring first
        self.closed = False

    def ack(self, message):
        """A worker thread finished `message`: its ack goes to Redis with this consumer's next round trip (at most
        one worker timeout later) instead of a round trip of its own; at once when the consumer is closed. Until
        then the message is in this worker's ack set, as while it ran: redelivered only if this worker dies."""
        with self.broker.acks_lock:
            if not self.closed:
                self.broker.pending_acks.setdefault(self.queue_name, []).append(message.options["redis_message_id"])
                self.queued_message_ids.discard(message.message_id)
                return
        super().ack(message)

    def close(self):
        with self.broker.acks_lock:
            self.closed = True
        try:
            self._round_trip(0, wait=False)  # the acks still owed
        except (redis.RedisError, OSError):
            self.logger.warning("Could not ack finished messages on queue %r at close; they will be redelivered "
                                "if this worker stops now.", self.queue_name, exc_info=True)
        super().close()

    def __next__(self):
        try:
            while True:
                if self.message_cache:
                    data = self.message_cache.pop(0)
                    if data is None:  # its body was gone (Dramatiq logs this case too)
                        self.logger.warning("Found 'None' message in message cache for queue %r.", self.queue_name)
                        continue
                    self.misses = 0
                    message = Message.decode(data)
                    self.queued_message_ids.add(message.message_id)
                    return MessageProxy(message)
                room = self.prefetch - self.outstanding_message_count
                if room <= 0:
                    # Our own worker threads are full: nothing to ask Redis until one is free (Dramatiq's backoff;
                    # a thread that finishes frees room, and its ack goes with the next fetch).
                    self.misses, backoff_ms = compute_backoff(self.misses, max_backoff=self.timeout)
                    time.sleep(backoff_ms / 1000)
                    return None
                self.message_cache = self._round_trip(room, wait=self.drained)
                self.drained = len(self.message_cache) < room
                if not self.message_cache:
                    # Nothing after a ring, or the wait timed out (the worker thread then looks at its delayed
                    # messages and whether to stop, as after Dramatiq's sleep).
                    return None
        except redis.ConnectionError as e:
            raise ConnectionClosed(e) from None

    def _dispatch_args(self, command: str, *args) -> list:
        """Dramatiq's dispatch script arguments for `command`, exactly as RedisBroker's do_<command> builds them."""
        b = self.broker
        return [command, current_millis(), self.queue_name, b.broker_id, b.heartbeat_timeout, b.dead_message_ttl,
                b._should_do_maintenance(command), b._max_unpack_size(), *args]

    def _round_trip(self, room: int, *, wait: bool) -> list:
        """One pipeline: the acks owed (Dramatiq's `ack` each), then, with `wait`, a BLPOP on the bell (at most the
        worker timeout), then Dramatiq's `fetch` of up to `room` messages, which Redis runs the moment the wait
        ends, whether a ring ended it or the timeout (so the timeout is also a poll: a message that came without
        a ring is found within one worker timeout). Returns what was fetched."""
        broker = self.broker
        dispatch = broker.scripts["dispatch"]
        acks = broker.take_acks(self.queue_name)
        if not acks and not room:
            return []
        pipeline = broker.client.pipeline(transaction=False)
        for message_id in acks:
            pipeline.evalsha(dispatch.sha, 1, broker.namespace, *self._dispatch_args("ack", message_id))
        if wait and room:
            pipeline.blpop([self.bell], timeout=max(0.01, self.timeout / 1000))
        if room:
            pipeline.evalsha(dispatch.sha, 1, broker.namespace, *self._dispatch_args("fetch", room))
        try:
            replies = pipeline.execute(raise_on_error=False)
        except BaseException:
            broker.give_back_acks(self.queue_name, acks)
            raise
        failed = [reply for reply in replies if isinstance(reply, Exception)]
        if failed and all(isinstance(error, NoScriptError) for error in failed):
            # Redis forgot the script (a restart): nothing of ours ran; load it and send the rest again, without
            # the wait, which took place.
            dispatch.sha = broker.client.script_load(dispatch.script)
            broker.give_back_acks(self.queue_name, acks)
            return self._round_trip(room, wait=False)
        if failed:
            raise failed[0]
        return replies[-1] if room else []
