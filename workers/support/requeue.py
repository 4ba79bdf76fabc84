"""Re-queue failed jobs: enqueue a fresh copy FIRST, then drop the dead letter, then mark the row.

Dramatiq's Redis broker keeps a failed message in `<ns>:<queue>.XQ` (zset of redis message ids
scored by time) and `<ns>:<queue>.XQ.msgs` (id -> body) for 7 days and has no re-queue tool; the
dashboard's "delete, then enqueue" loses the job if it crashes in between. Enqueue-then-delete can
at worst run the job twice, which idempotent actors allow.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable

from dramatiq import Message
from peewee import Case

from models.db import utcnow
from models.failure import REQUEUED, RESOLVED, Failure
from runtime.failures import REQUEUED_FROM
from runtime.job_table import known

logger = logging.getLogger("aiadmin.support")

# Options that belong to one delivery, not to the work: a fresh copy starts from zero retries.
_DELIVERY_OPTIONS = ("retries", "traceback", "redis_message_id", "eta", "requeue_timestamp")


def xq_keys(namespace: str, queue_name: str) -> tuple[str, str]:
    canonical = queue_name[:-3] if queue_name.endswith((".DQ", ".XQ")) else queue_name
    return f"{namespace}:{canonical}.XQ", f"{namespace}:{canonical}.XQ.msgs"


def dead_letter(broker, failure: Failure) -> Message | None:
    """The dead-lettered message of this failure, if the broker still holds it."""
    if not failure.redis_message_id:
        return None
    _, msgs = xq_keys(broker.namespace, failure.queue_name)
    body = broker.client.hget(msgs, failure.redis_message_id)
    if body is None:
        return None
    try:
        return Message.decode(body)
    except Exception:  # a corrupt body: fall back to what the failure row recorded
        logger.warning("dead letter %s of failure %s cannot be decoded", failure.redis_message_id, failure.id)
        return None


def fresh_copy(failure: Failure, original: Message | None) -> Message:
    """A new message for the same work: same actor, args and kwargs, retries reset, a new id and timestamp
    (a fresh timestamp so an age-limited job does not expire again at once)."""
    if original is not None:
        queue_name, actor_name = original.queue_name, original.actor_name
        args, kwargs, options = tuple(original.args), dict(original.kwargs), dict(original.options)
    else:
        queue_name, actor_name = failure.queue_name, failure.actor_name
        args, kwargs, options = tuple(failure.args or ()), dict(failure.kwargs or {}), dict(failure.options or {})
    options = {k: v for k, v in options.items() if k not in _DELIVERY_OPTIONS}
    options[REQUEUED_FROM] = failure.id
    return Message(queue_name=queue_name, actor_name=actor_name, args=args, kwargs=kwargs, options=options)


@dataclass
class Requeued:
    failure_id: int
    actor: str
    message_id: str
    dead_letter_found: bool

    def asdict(self) -> dict:
        return {"failure_id": self.failure_id, "actor": self.actor, "message_id": self.message_id,
                "dead_letter_found": self.dead_letter_found}


class UnknownActor(LookupError):
    """The failure names an actor this version does not have (renamed or removed since)."""


def requeue(broker, failure: Failure, *, on_enqueued=None) -> Requeued:
    """Re-send one failure's work. `on_enqueued` is a test hook to simulate a crash after the enqueue."""
    if not known(failure.actor_name):
        # A worker would dead-letter it again at once; say so instead of pretending.
        raise UnknownActor(f"failure {failure.id} is for actor {failure.actor_name!r}, which this version "
                           f"does not have")
    original = dead_letter(broker, failure)
    message = broker.enqueue(fresh_copy(failure, original))  # 1. the work is safe on the queue
    if on_enqueued is not None:
        on_enqueued(message)
    if failure.redis_message_id:  # 2. only now drop the dead letter
        xq, msgs = xq_keys(broker.namespace, failure.queue_name)
        with broker.client.pipeline(transaction=True) as pipe:
            pipe.zrem(xq, failure.redis_message_id)
            pipe.hdel(msgs, failure.redis_message_id)
            pipe.execute()
    # 3. mark it; the copy may already have succeeded (RequeueOutcome marks `resolved`): keep that.
    (Failure.update(status=Case(None, [(Failure.status == RESOLVED, RESOLVED)], REQUEUED),
                    requeue_count=Failure.requeue_count + 1, updated_at=utcnow())
     .where(Failure.id == failure.id).execute())
    logger.info("re-queued failure %s (%s) as message %s", failure.id, failure.actor_name, message.message_id)
    return Requeued(failure.id, failure.actor_name, message.message_id, original is not None)


def requeue_all(broker, rows: Iterable[Failure], batch: int = 100) -> tuple[list[Requeued], list[str]]:
    """Re-queue many failures in bounded batches (each one enqueue-then-delete). Returns what was
    re-queued and why the others were not (an actor that no longer exists); one bad row never stops the rest."""
    done, refused = [], []
    rows = list(rows)
    for start in range(0, len(rows), batch):
        for failure in rows[start:start + batch]:
            try:
                done.append(requeue(broker, failure))
            except UnknownActor as exc:
                refused.append(str(exc))
    return done, refused
