"""Throttled `sync` progress events: a few per second at most, but every status change goes out.

Each event carries the overall progress of the run across every entity (`percent`, one bar that never
starts over per entity) and, once every remaining entity's size is known, `requests_left`, from which
the web tier estimates the time left with the shared YCLIENTS rate budget.
"""
from __future__ import annotations

import math
import time

from models.sync_progress import overall_percent
from runtime.yclients.api import CLIENTS_PAGE_SIZE, RECORDS_PAGE_SIZE

__all__ = ["Progress", "overall_percent", "requests_left"]

PAGE_SIZES = {"clients": CLIENTS_PAGE_SIZE, "records": RECORDS_PAGE_SIZE}


def requests_left(checkpoints: dict) -> int | None:
    """YCLIENTS requests the run still needs, or None while a paged entity's size is unknown."""
    left = 0
    for entity, cp in checkpoints.items():
        if not isinstance(cp, dict) or cp.get("status") == "done":
            continue
        if entity not in PAGE_SIZES:
            left += 1
            continue
        total, done = int(cp.get("total") or 0), int(cp.get("done") or 0)
        if total <= 0 and cp.get("status") != "running":
            return None  # not started: its size is not known yet
        left += math.ceil(max(0, total - done) / PAGE_SIZES[entity])
    return left


class Progress:
    def __init__(self, live, salon_id: int, interval: float = 0.3, clock=time.monotonic):
        self.live = live
        self.salon_id = salon_id
        self.interval = interval
        self.clock = clock
        self._last = None
        self._last_key = None
        self.published = 0

    def report(self, status: str, entity: str, done: int, total: int, force: bool = False,
               checkpoints: dict | None = None, **extra) -> bool:
        now = self.clock()
        key = (status, entity)
        if not force and key == self._last_key and self._last is not None and now - self._last < self.interval:
            return False
        self._last, self._last_key = now, key
        if checkpoints:
            extra.setdefault("percent", overall_percent(checkpoints))
            left = requests_left(checkpoints)
            if left is not None:
                extra.setdefault("requests_left", left)
        self.live.publish(self.salon_id, "sync", {"status": status, "entity": entity, "done": done,
                                                  "total": total, "code": f"sync_{status}", **extra})
        self.published += 1
        return True
