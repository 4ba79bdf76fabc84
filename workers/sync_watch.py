"""What `aiadmin resync --wait` shows between its progress lines: rows and an ETA on each line, and when no
progress arrives, why (waiting for YCLIENTS budget, a failed attempt and its retry, no free sync worker)."""
from __future__ import annotations

import time

QUIET_AFTER = 5.0  # seconds without a progress event before the watcher explains the silence


def duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Rows:
    """Rows done and known in total across entities, and an ETA from the rate observed while watching."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.entities: dict[str, tuple[int, int]] = {}
        self._first: tuple[float, int] | None = None

    def update(self, data: dict) -> None:
        entity = data.get("entity") or "-"
        self.entities[entity] = (int(data.get("done") or 0), int(data.get("total") or 0))
        if self._first is None:
            self._first = (self.clock(), self.done)

    @property
    def done(self) -> int:
        return sum(done for done, _ in self.entities.values())

    @property
    def total(self) -> int:
        return sum(max(done, total) for done, total in self.entities.values())

    def eta(self) -> float | None:
        if self._first is None:
            return None
        started, done_then = self._first
        elapsed, gained = self.clock() - started, self.done - done_then
        if elapsed <= 0 or gained <= 0:
            return None
        return max(0, self.total - self.done) / (gained / elapsed)

    def suffix(self) -> str:
        eta = self.eta()
        return f"  rows {self.done}/{self.total or '?'}" + (f"  ETA {duration(eta)}" if eta is not None else "")


def why_quiet(redis_client, settings, salon_id: int, now: float | None = None) -> str:
    """One line on what the sync is waiting for, from what the workers leave in Redis."""
    from workers import retry_state
    from workers.health_details import budget_use, queue_stats

    now = time.time() if now is None else now
    attempts = [a for a in retry_state.read(redis_client, salon_id) if a.get("actor") == "sync_salon"]
    if attempts and attempts[0].get("next_retry_at") and not attempts[0].get("gave_up"):
        a = attempts[0]
        return (f"attempt {a['attempt']} of {a['max_attempts']} failed: {a['error']}; "
                f"next retry in {duration(a['next_retry_at'] - now)}")
    wait = budget_use(redis_client, settings.yclients_rate_limit)["wait_seconds"]
    if wait > 0:
        return f"waiting for YCLIENTS budget, {duration(wait)}"
    queue = queue_stats(redis_client, queues=["sync"], now=now)["sync"]
    if queue["waiting"]:
        return (f"waiting for a sync worker: {queue['waiting']} message(s) in queue sync, "
                f"oldest waiting {duration(queue['lag_seconds'])}")
    return "working (no new rows yet)"
