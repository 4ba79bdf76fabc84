"""Recording failed jobs so support can list and re-queue them."""
from __future__ import annotations

from models.db import utcnow
from models.failure import OPEN, Failure

REQUEUED_FROM = "aiadmin_requeued_from"  # message option linking a re-queued message to its failure row
_DROP_OPTIONS = ("traceback", "redis_message_id", "retries", "requeue_timestamp", "eta")


def attempts_of(message, permanent: bool) -> int:
    """How many times the job ran. Retries counts a failed attempt before deciding to give up,
    except for a `throws` (permanent) error, where it gives up without counting."""
    retries = int(message.options.get("retries", 0))
    return max(1, retries + 1 if permanent else retries)


def record_failure(message, *, salon_id, error_type, error, permanent) -> Failure:
    options = {k: v for k, v in message.options.items() if k not in _DROP_OPTIONS}
    return Failure.create(
        salon_id=salon_id,
        actor_name=message.actor_name,
        queue_name=message.queue_name,
        message_id=message.message_id,
        redis_message_id=str(message.options.get("redis_message_id", "")),
        args=list(message.args),
        kwargs=dict(message.kwargs),
        options=options,
        error_type=error_type[:128],
        error=error,
        attempts=attempts_of(message, permanent),
        permanent=permanent,
        status=OPEN,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
