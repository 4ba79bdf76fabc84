"""The sandbox's view of the rate limit: enforce it per source like YCLIENTS, and count what arrived.

Counting is by arrival time over every request that reached an API endpoint (admitted or answered
429), so `max_in_window(1)` is exactly the most requests seen in ANY sliding 1 s window: the
busiest window always ends at an arrival, and each arrival counts the ones before it.
"""
from __future__ import annotations

import threading
import time
from collections import deque

DEFAULT_BUDGET = ((5, 1), (200, 60))


def parse_budget(text: str | None) -> tuple[tuple[int, int], ...]:
    if not text:
        return DEFAULT_BUDGET
    from runtime.settings import RateLimit

    return RateLimit.parse(text).windows


class Limits:
    def __init__(self, budget=DEFAULT_BUDGET, clock=time.monotonic, enforce: bool = True):
        self.budget = tuple(budget)
        self.clock = clock
        self.enforce = enforce
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.arrivals: dict[str, deque] = {}
        self.admitted: dict[str, deque] = {}
        self.max_seen = {window: 0 for _, window in self.budget}
        self.max_seen.setdefault(1, 0)
        self.max_seen.setdefault(60, 0)
        self.total = 0
        self.rejected = 0
        self.by_path: dict[str, int] = {}

    def hit(self, source: str, path: str) -> float:
        """Count one arrival; return 0 to serve it or the Retry-After seconds to answer 429."""
        with self.lock:
            now = self.clock()
            self.total += 1
            self.by_path[path] = self.by_path.get(path, 0) + 1
            widest = max(self.max_seen)
            arrivals = self.arrivals.setdefault(source, deque())
            arrivals.append(now)
            while arrivals and arrivals[0] <= now - widest:
                arrivals.popleft()
            for window in self.max_seen:
                count = sum(1 for t in arrivals if t > now - window)
                self.max_seen[window] = max(self.max_seen[window], count)
            if not self.enforce:
                return 0.0
            admitted = self.admitted.setdefault(source, deque())
            while admitted and admitted[0] <= now - max(w for _, w in self.budget):
                admitted.popleft()
            wait = 0.0
            for limit, window in self.budget:
                inside = [t for t in admitted if t > now - window]
                if len(inside) >= limit:
                    wait = max(wait, inside[len(inside) - limit] + window - now)
            if wait > 0:
                self.rejected += 1
                return wait
            admitted.append(now)
            return 0.0

    def stats(self) -> dict:
        with self.lock:
            return {"budget": [{"limit": limit, "window": window} for limit, window in self.budget],
                    "max_per_1s": self.max_seen[1], "max_per_60s": self.max_seen[60],
                    "max_by_window": {str(w): n for w, n in self.max_seen.items()},
                    "total": self.total, "rejected_429": self.rejected, "by_path": dict(self.by_path)}
