"""The Dramatiq broker, built from settings in one place and tuned on purpose.

Measured defaults (docs/architecture.md): an idle worker picks a message up ~450 ms after it is
sent, a SIGKILLed worker's messages return after 1.5-10 minutes, failing messages retry for
~35 days. Hence: a 100 ms worker timeout (set as `dramatiq_worker_timeout` in the Procfile),
a 15 s heartbeat timeout with frequent maintenance, and bounded retries (workers/registry.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AgeLimit, Callbacks, Pipelines, Retries, ShutdownNotifications, TimeLimit

from runtime.middleware import DatabaseConnection, FailureRecorder, LogContext
from runtime.redis_client import connection_options
from runtime.requeue_outcome import RequeueOutcome
from runtime.retry_notice import RetryNotice
from runtime.retry_state import RetryRecorder
from runtime.settings import Settings

HEARTBEAT_TIMEOUT_MS = 15_000
# Out of 1,000,000 broker calls; 10 % makes a dead worker's messages come back within seconds of
# the heartbeat timeout instead of minutes (each maintenance is one KEYS scan on a dedicated DB).
MAINTENANCE_CHANCE = 100_000
WORKER_TIMEOUT_MS = 100


def build_middleware(database=None, live=None):
    """Middleware in order. Dramatiq runs `after_*` hooks in reverse, so Retries (last) decides first
    whether a message failed, then FailureRecorder records it, then the connection is closed. With `live`
    (the worker's live status) the onboarding page hears of each retry of activation and sync."""
    middleware = [AgeLimit(), TimeLimit(), ShutdownNotifications(), Callbacks(), Pipelines(), LogContext()]
    if database is not None:
        middleware += [DatabaseConnection(database), FailureRecorder(), RequeueOutcome()]
        if live is not None:
            middleware.append(RetryNotice(live))
    middleware.append(RetryRecorder())  # after Retries decided: attempt k of n, next retry (aiadmin status)
    middleware.append(Retries(max_retries=6, min_backoff=1_000, max_backoff=120_000))
    return middleware


def build_broker(settings: Settings, database=None, live=None) -> RedisBroker:
    return RedisBroker(
        client=redis.Redis(connection_pool=redis.ConnectionPool.from_url(settings.redis_url, **connection_options())),
        middleware=build_middleware(database, live),
        namespace="dramatiq",
        heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
        maintenance_chance=MAINTENANCE_CHANCE,
    )


def _about_to_enqueue(broker: RedisBroker, message):
    """What RedisBroker.enqueue does before sending (no delay): a unique redis message id (a retried message keeps
    its message id), then the before_enqueue hooks."""
    from uuid import uuid4

    message = message.copy(options={"redis_message_id": str(uuid4())})
    broker.emit_before("enqueue", message, None)
    return message


def enqueue_many(broker: RedisBroker, messages: list, *, before=()) -> None:
    """`broker.enqueue(m)` for each message (no delay), in ONE pipelined round trip: the same middleware
    hooks, the same unique redis message id and the same dispatch script as Dramatiq's own enqueue.
    EVALSHA directly (a pipeline given a Script first asks SCRIPT EXISTS: a second round trip); if Redis
    does not know the script yet, every enqueue failed alike, so it is loaded and the enqueues sent again.
    `before`: (script, keys, args) calls of other registered scripts (e.g. the live reset a session job
    follows) sent ahead of the enqueues in the same round trip, as EVAL with the script's text: Redis knows
    it then whatever it was told before, so each runs exactly once and always before the enqueues."""
    from dramatiq.common import current_millis
    from redis.exceptions import NoScriptError

    dispatch = broker.scripts["dispatch"]
    sent, argv = [], []
    for message in messages:
        message = _about_to_enqueue(broker, message)
        argv.append(["enqueue", current_millis(), message.queue_name, broker.broker_id, broker.heartbeat_timeout,
                     broker.dead_message_ttl, broker._should_do_maintenance("enqueue"), broker._max_unpack_size(),
                     message.options["redis_message_id"], message.encode()])
        sent.append(message)
    pipeline = broker.client.pipeline(transaction=False)
    for script, keys, args in before:
        pipeline.eval(script.script, len(keys), *keys, *args)
    for attempt in (1, 2):
        for args in argv:
            pipeline.evalsha(dispatch.sha, 1, broker.namespace, *args)
        failed = [reply for reply in pipeline.execute(raise_on_error=False) if isinstance(reply, Exception)]
        if not failed:
            break
        if attempt == 2 or not all(isinstance(error, NoScriptError) for error in failed):
            raise failed[0]
        dispatch.sha = broker.client.script_load(dispatch.script)  # the `before` calls ran: the enqueues only
    for message in sent:
        broker.emit_after("enqueue", message, None)


# What Dramatiq's dispatch.lua does for `enqueue` (no delay), for a script of ours that enqueues as one of its
# steps: KEYS queue list and messages hash, ARGV the redis message id and the encoded message. The consumer's
# `fetch` LPOPs the id and HMGETs the data; nothing else is needed (the enqueuer's heartbeat is not).
PUSH_LUA = "redis.call('HSET', {messages}, {id}, {data}); redis.call('RPUSH', {queue}, {id})"


@dataclass(frozen=True)
class ScriptedEnqueue:
    """A message another Lua script pushes onto its queue (PUSH_LUA) in that script's round trip, so the enqueue
    costs no round trip of its own (the redirect's install check: web/marketplace/check_gate.py). The
    before_enqueue hooks have run; `done()` runs the after_enqueue hooks once the script says it pushed."""

    broker: RedisBroker
    message: object  # dramatiq.Message, with its redis message id
    keys: tuple  # (queue list, messages hash)
    args: tuple  # (redis message id, encoded message)

    def done(self) -> None:
        self.broker.emit_after("enqueue", self.message, None)


def scripted_enqueue(broker, message) -> ScriptedEnqueue | None:
    """`message` ready for PUSH_LUA, as `broker.enqueue(message)` would send it; None unless `broker` is a Redis
    broker (a stub broker enqueues the usual way)."""
    if not isinstance(broker, RedisBroker):
        return None
    message = _about_to_enqueue(broker, message)
    queue = f"{broker.namespace}:{message.queue_name}"
    return ScriptedEnqueue(broker, message, (queue, f"{queue}.msgs"),
                           (message.options["redis_message_id"], message.encode()))
