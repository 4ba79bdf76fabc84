"""A sync that would wait for YCLIENTS budget gives its worker thread back and comes back later.

The syncs' API is BACKGROUND (runtime/yclients/ratelimit.py): a call that would wait more than
BACKGROUND_MAX_HOLD raises BudgetWait before sending anything. Everything fetched before it is already
committed with its checkpoint, so the sync only has to note that it is waiting (for the page and
`aiadmin status`), release its lease and raise WaitingForBudget; the actor catches that and re-enqueues
the same run with a Dramatiq `delay` equal to the wait. That is a new message, not a retry: it burns
none of the actor's max_retries, and the next run resumes from the checkpoints.
"""
from __future__ import annotations

import json
import math
import random
import time

from runtime.yclients.ratelimit import BudgetWait

__all__ = ["BudgetWait", "WaitingForBudget", "delay_ms", "note_waiting", "waiting_of", "clear_waiting"]

WAIT_KEY = "aiadmin:sync:waiting:{salon_id}"
MIN_DELAY_MS = 1000
JITTER_SHARE = 0.1  # up to 10 % (and 0.5 s) later, so syncs told the same wait do not all wake together
MAX_JITTER_MS = 500


class WaitingForBudget(Exception):
    """Raised by a sync service after it checkpointed: re-enqueue `resume` (the actor's kwargs) in `delay_ms`."""

    def __init__(self, delay: int, resume: dict | None = None):
        super().__init__(f"waiting {delay} ms for YCLIENTS budget")
        self.delay_ms = delay
        self.resume = dict(resume or {})


def delay_ms(exc: BudgetWait, rand=random.random) -> int:
    base = max(MIN_DELAY_MS, math.ceil(exc.seconds * 1000))
    return base + int(min(MAX_JITTER_MS, base * JITTER_SHARE) * rand())


def note_waiting(redis_client, salon_id: int, what: str, delay: int, now=time.time) -> bool:
    """Record until when the salon's `what` (full, incremental, schedules, company) waits for budget.
    True when it was not already waiting (the caller publishes the page event only then)."""
    key = WAIT_KEY.format(salon_id=int(salon_id))
    value = json.dumps({"what": what, "until": now() + delay / 1000.0})
    ttl_ms = delay + 30_000
    fresh = redis_client.set(key, value, px=ttl_ms, nx=True)
    if not fresh:
        redis_client.set(key, value, px=ttl_ms)
    return bool(fresh)


def clear_waiting(redis_client, salon_id: int) -> None:
    redis_client.delete(WAIT_KEY.format(salon_id=int(salon_id)))


def waiting_of(redis_client, salon_id: int, now=time.time) -> dict | None:
    """{"what", "seconds_left"} while the salon's sync waits for YCLIENTS budget, else None."""
    raw = redis_client.get(WAIT_KEY.format(salon_id=int(salon_id)))
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    return {"what": data.get("what"), "seconds_left": max(0.0, round(float(data.get("until", 0)) - now(), 1))}
