"""Fault injection for tests and benchmarks: registered only by a worker with DIAGNOSTIC_ACTORS=1, never in production."""
from __future__ import annotations

import time

from workers.process import current
from workers.registry import actor


@actor(queue_name="diagnostics", max_retries=0, time_limit=600_000)
def hold(token: str, seconds: float) -> None:
    """Record each start, then hold the worker thread (the crash-recovery benchmark SIGKILLs it here)."""
    client = current().redis
    client.rpush(f"aiadmin:hold:{token}", f"{time.time():.6f}")
    client.expire(f"aiadmin:hold:{token}", 3600)
    time.sleep(seconds)


@actor(queue_name="diagnostics", max_retries=1, min_backoff=50, max_backoff=100, time_limit=10_000)
def fail_until(key: str, salon_id: int | None = None) -> None:
    """Fails while the Redis flag `aiadmin:fail:<key>` is set, then records a run: exercises failure + re-queue."""
    client = current().redis
    client.rpush(f"aiadmin:fail_until:{key}:attempts", time.time())
    if client.exists(f"aiadmin:fail:{key}"):
        raise RuntimeError(f"diagnostic failure while flag {key!r} is set")
    client.rpush(f"aiadmin:fail_until:{key}:done", time.time())
    client.expire(f"aiadmin:fail_until:{key}:done", 600)
