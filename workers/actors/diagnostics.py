"""A tiny real actor that proves the queue loop end to end (`aiadmin ping`)."""
from __future__ import annotations

import time

from workers.process import current
from workers.registry import actor


@actor(queue_name="diagnostics", max_retries=0, time_limit=10_000)
def ping(token: str, sent_at: float) -> None:
    """Record when the message started, so the caller can measure pickup latency."""
    started = time.time()
    client = current().redis
    client.rpush(f"aiadmin:ping:{token}", f"{started - sent_at:.6f}")
    client.expire(f"aiadmin:ping:{token}", 600)
