"""The Dramatiq broker, built from settings in one place and tuned on purpose.

Measured defaults (docs/architecture.md): an idle worker picks a message up ~450 ms after it is
sent, a SIGKILLed worker's messages return after 1.5-10 minutes, failing messages retry for
~35 days. Hence: queue bells (runtime/queue_bell.py: an idle consumer is woken by the enqueue) with
a 100 ms worker timeout (set as `dramatiq_worker_timeout` in the Procfile), a 15 s heartbeat timeout
with frequent maintenance, and bounded retries (workers/registry.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AgeLimit, Callbacks, Pipelines, Retries, ShutdownNotifications, TimeLimit
from redis.commands.core import Script

from runtime.middleware import DatabaseConnection, FailureRecorder, LogContext
from runtime.queue_bell import ENQUEUE_LUA, BellRedisBroker, queue_keys
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
    return BellRedisBroker(
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


def _enqueue_script(broker: RedisBroker):
    """The enqueue-and-ring script (runtime/queue_bell.py) on `broker`'s Redis (a plain RedisBroker's too: its
    consumers just never listen to the bell, capped at BELL_CAP rings)."""
    script = getattr(broker, "enqueue_script", None)
    if script is None:
        script = broker.enqueue_script = Script(broker.client, ENQUEUE_LUA)
    return script


def enqueue_many(broker: RedisBroker, messages: list, *, before=()) -> None:
    """`broker.enqueue(m)` for each message (no delay), in ONE pipelined round trip: the same middleware
    hooks, the same unique redis message id and the same stored message as Dramatiq's own enqueue, and the
    queue's bell rung (runtime/queue_bell.py). EVALSHA directly (a pipeline given a Script first asks SCRIPT
    EXISTS: a second round trip); if Redis does not know the script yet, every enqueue failed alike, so it is
    loaded and the enqueues sent again.
    `before`: (script, keys, args) calls of other registered scripts (e.g. the live reset a session job
    follows) sent ahead of the enqueues in the same round trip, as EVAL with the script's text: Redis knows
    it then whatever it was told before, so each runs exactly once and always before the enqueues."""
    from redis.exceptions import NoScriptError

    script = _enqueue_script(broker)
    sent, calls = [], []
    for message in messages:
        message = _about_to_enqueue(broker, message)
        calls.append((*queue_keys(broker.namespace, message.queue_name), message.options["redis_message_id"],
                      message.encode()))
        sent.append(message)
    pipeline = broker.client.pipeline(transaction=False)
    for other, keys, args in before:
        pipeline.eval(other.script, len(keys), *keys, *args)
    for attempt in (1, 2):
        for call in calls:
            pipeline.evalsha(script.sha, 3, *call)
        failed = [reply for reply in pipeline.execute(raise_on_error=False) if isinstance(reply, Exception)]
        if not failed:
            break
        if attempt == 2 or not all(isinstance(error, NoScriptError) for error in failed):
            raise failed[0]
        script.sha = broker.client.script_load(script.script)  # the `before` calls ran: the enqueues only
    for message in sent:
        broker.emit_after("enqueue", message, None)


@dataclass(frozen=True)
class ScriptedEnqueue:
    """A message another Lua script pushes onto its queue (queue_bell.PUSH_LUA) in that script's round trip, so the
    enqueue costs no round trip of its own (the redirect's install check: web/marketplace/check_gate.py). The
    before_enqueue hooks have run; `done()` runs the after_enqueue hooks once the script says it pushed."""

    broker: RedisBroker
    message: object  # dramatiq.Message, with its redis message id
    keys: tuple  # (queue list, messages hash, bell)
    args: tuple  # (redis message id, encoded message)

    def done(self) -> None:
        self.broker.emit_after("enqueue", self.message, None)


def scripted_enqueue(broker, message) -> ScriptedEnqueue | None:
    """`message` ready for queue_bell.PUSH_LUA, as `broker.enqueue(message)` would send it; None unless `broker` is a
    Redis broker (a stub broker enqueues the usual way)."""
    if not isinstance(broker, RedisBroker):
        return None
    message = _about_to_enqueue(broker, message)
    return ScriptedEnqueue(broker, message, queue_keys(broker.namespace, message.queue_name),
                           (message.options["redis_message_id"], message.encode()))
