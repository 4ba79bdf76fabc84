"""Throttled `sync` progress events: a few per second at most, but every status change goes out."""
from __future__ import annotations

import time


class Progress:
    def __init__(self, live, salon_id: int, interval: float = 0.3, clock=time.monotonic):
        self.live = live
        self.salon_id = salon_id
        self.interval = interval
        self.clock = clock
        self._last = None
        self._last_key = None
        self.published = 0

    def report(self, status: str, entity: str, done: int, total: int, force: bool = False, **extra) -> bool:
        now = self.clock()
        key = (status, entity)
        if not force and key == self._last_key and self._last is not None and now - self._last < self.interval:
            return False
        self._last, self._last_key = now, key
        self.live.publish(self.salon_id, "sync", {"status": status, "entity": entity, "done": done,
                                                  "total": total, **extra})
        self.published += 1
        return True
