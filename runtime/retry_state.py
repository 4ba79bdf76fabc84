"""Where a failing job of a salon stands, for support: last error, attempt k of n, next retry time.

Dramatiq's Retries re-enqueues a failed message with a delay and says so only in a log line; until the
retries run out (~10 minutes for a sync) `aiadmin status` showed just "full running". This middleware
writes each failed attempt to a small Redis hash per salon (one field per actor), and clears the field
when a run of that actor succeeds. `aiadmin status` and the detailed health answer read it.
"""
from __future__ import annotations

import datetime
import json
import logging
import threading
import time
from typing import Any

from dramatiq.middleware import Middleware, Retries

from runtime.failures import attempts_of
from runtime.logs import redact
from runtime.middleware import salon_id_of
from runtime.render import iso

logger = logging.getLogger("aiadmin.worker")

KEY = "aiadmin:support:retries:{salon_id}"
INDEX = "aiadmin:support:retrying"  # sorted set: salon id -> time of its latest failed attempt (for health)
TTL = 7 * 86400  # a week: long enough for support to look, short enough not to pile up
ERROR_CHARS = 300


def key(salon_id: int) -> str:
    return KEY.format(salon_id=int(salon_id))


def read(redis_client, salon_id: int) -> list[dict]:
    """The salon's recorded attempts, newest first; [] when Redis does not answer."""
    try:
        raw = redis_client.hgetall(key(salon_id))
    except Exception as exc:
        logger.warning("retry state unavailable: %s", type(exc).__name__)
        return []
    entries = []
    for value in raw.values():
        try:
            entries.append(json.loads(value))
        except ValueError:
            continue
    return sorted(entries, key=lambda e: e.get("failed_at") or 0, reverse=True)


def recent(redis_client, limit: int = 20, now: float | None = None) -> list[dict]:
    """The latest failed attempts across salons (newest salons first), each with its `salon_id`."""
    now = time.time() if now is None else now
    redis_client.zremrangebyscore(INDEX, "-inf", now - TTL)
    entries = []
    for salon_id in redis_client.zrevrange(INDEX, 0, limit - 1):
        for entry in read(redis_client, int(salon_id)):
            entries.append({**entry, "salon_id": int(salon_id)})
    return entries


def describe(exception) -> str:
    """One line, redacted like the logs (no secret, no full phone number), bounded."""
    lines = f"{type(exception).__name__}: {exception}".strip().rstrip(":").splitlines() or [""]
    line = redact(lines[-1] if len(lines) == 1 else f"{type(exception).__name__}: {lines[-1]}")
    return line if len(line) <= ERROR_CHARS else line[: ERROR_CHARS - 1] + "…"


class RetryRecorder(Middleware):
    """Must sit BEFORE Retries in the middleware list: `after_*` hooks run in reverse, so Retries has
    already counted the attempt and chosen the delay (seen here through `before_enqueue`) when this runs."""

    def __init__(self, clock=time.time):
        self.clock = clock
        self._local = threading.local()

    def before_enqueue(self, broker, message, delay):
        self._local.enqueued = (message.message_id, delay)

    def before_process_message(self, broker, message):
        self._local.enqueued = None

    def after_process_message(self, broker, message, *, result=None, exception=None):
        enqueued, self._local.enqueued = getattr(self._local, "enqueued", None), None
        salon_id = salon_id_of(broker, message)
        if salon_id is None:
            return
        try:
            if exception is None:
                client = broker.client
                if client.hdel(key(salon_id), message.actor_name) and not client.exists(key(salon_id)):
                    client.zrem(INDEX, salon_id)
                return
            delay_ms = enqueued[1] if enqueued and enqueued[0] == message.message_id and not message.failed else None
            self._record(broker, message, salon_id, exception, delay_ms)
        except Exception as exc:  # support's view must never break the job's own handling
            logger.warning("could not record the retry state of %s: %s", message.actor_name, type(exc).__name__)

    def _record(self, broker, message, salon_id, exception, delay_ms) -> None:
        actor = broker.get_actor(message.actor_name)
        throws = message.options.get("throws") or actor.options.get("throws")
        permanent = bool(throws and isinstance(exception, throws))
        now = self.clock()
        entry = {
            "actor": message.actor_name,
            "message_id": message.message_id,
            "attempt": attempts_of(message, permanent),
            "max_attempts": max_attempts(broker, message),
            "error": describe(exception),
            "failed_at": now,
            "next_retry_at": now + delay_ms / 1000.0 if delay_ms is not None else None,
            "gave_up": bool(message.failed),
        }
        with broker.client.pipeline() as pipe:
            pipe.hset(key(salon_id), message.actor_name, json.dumps(entry, ensure_ascii=False))
            pipe.expire(key(salon_id), TTL)
            pipe.zadd(INDEX, {str(salon_id): now})
            pipe.execute()


def max_attempts(broker, message) -> int:
    """All automatic attempts of this message (1 + its max_retries): the "n" of "attempt k of n" for support
    (here) and for the owner's page (retry_notice.py)."""
    actor = broker.get_actor(message.actor_name)
    default = next((m.max_retries for m in broker.middleware if isinstance(m, Retries)), 20)
    value = message.options.get("max_retries", actor.options.get("max_retries", default))
    return int(value if value is not None else default) + 1


def retries_of(entries: list[dict]) -> list[dict[str, Any]]:
    """The recorded attempts (runtime/retry_state.py) with ISO times, newest first."""
    return [{"actor": e.get("actor"), "attempt": e.get("attempt"), "max_attempts": e.get("max_attempts"),
             "error": e.get("error"), "failed_at": iso(_from_epoch(e.get("failed_at"))),
             "next_retry_at": iso(_from_epoch(e.get("next_retry_at"))), "gave_up": bool(e.get("gave_up"))}
            for e in entries]


def _from_epoch(value) -> datetime.datetime | None:
    if not isinstance(value, (int, float)):
        return None
    return datetime.datetime.fromtimestamp(value, datetime.timezone.utc).replace(tzinfo=None)
