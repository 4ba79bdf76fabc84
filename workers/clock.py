"""Process `clock`: enqueues periodic work on a fixed schedule; it never does the work itself.

Why not a library: periodiq enqueues from every running scheduler (two clock processes double
every job) and dramatiq-crontab needs Django. This loop is small and testable without waiting:
time is injected, and each run is claimed in Redis by `SET NX` on (entry, time slot), so any number
of clock processes enqueue each slot exactly once, and a restarted clock neither repeats nor (within
the entry's grace) skips a slot. The schedule (times in UTC) is documented in docs/webhooks.md.
"""
from __future__ import annotations

import logging
import math
import os
import signal
import threading
import time
from dataclasses import dataclass
from typing import Callable

logger = logging.getLogger("aiadmin.clock")

LOCK_PREFIX = "aiadmin:clock:"
MINUTE = 60
HOUR = 3600
DAY = 86400


@dataclass(frozen=True)
class Entry:
    """Enqueue `actor` once per period of `every` seconds, at `offset` seconds into the period (UTC).
    A run missed while no clock was up still starts if a clock comes up within `grace` seconds."""

    name: str
    actor: str
    every: int
    offset: int = 0
    grace: int | None = None

    @property
    def window(self) -> int:
        return self.every if self.grace is None else min(self.grace, self.every)

    def slot(self, now: float) -> int | None:
        """The period `now` falls in, if `now` is inside its run window; otherwise None."""
        index = math.floor((now - self.offset) / self.every)
        started = index * self.every + self.offset
        return index if now - started < self.window else None


SCHEDULE = (
    Entry("webhook-sweep", "sweep_webhook_deliveries", every=MINUTE),
    Entry("onboarding-reconcile", "reconcile_onboardings", every=MINUTE, offset=15),
    Entry("whatsapp-reconcile", "reconcile_whatsapp_sessions", every=5 * MINUTE, offset=30),
    Entry("incremental-sync", "schedule_incremental_syncs", every=15 * MINUTE, offset=2 * MINUTE),
    Entry("onboarding-expiry", "expire_abandoned_onboardings", every=HOUR, offset=10 * MINUTE),
    # Staff schedules of active salons, hourly at :40 (away from the :02/:17/:32/:47 incremental syncs).
    Entry("schedule-sync", "schedule_schedule_syncs", every=HOUR, offset=40 * MINUTE),
    # Daily at 01:30 UTC, each active salon whose company card is a week old: a weekly refresh, spread out.
    Entry("company-refresh", "schedule_company_refreshes", every=DAY, offset=90 * MINUTE, grace=2 * HOUR),
    # 00:00 UTC = 03:00 Moscow: the salons' quiet hours. A clock that was down may still start it until 02:00 UTC.
    Entry("full-sync", "schedule_full_syncs", every=DAY, offset=0, grace=2 * HOUR),
)


class Clock:
    def __init__(self, jobs, redis, schedule: tuple[Entry, ...] = SCHEDULE, *,
                 now: Callable[[], float] = time.time, owner: str | None = None):
        self.jobs = jobs
        self.redis = redis
        self.schedule = schedule
        self.now = now
        self.owner = owner or f"{os.uname().nodename}:{os.getpid()}"
        self._seen: dict[str, int] = {}  # last slot this process handled, to spare Redis a call per tick

    def tick(self, now: float | None = None) -> list[str]:
        """Enqueue every entry whose slot is open and unclaimed; returns the actors this call enqueued."""
        now = self.now() if now is None else now
        sent = []
        for entry in self.schedule:
            slot = entry.slot(now)
            if slot is None or self._seen.get(entry.name) == slot:
                continue
            key = f"{LOCK_PREFIX}{entry.name}:{slot}"
            if self.redis.set(key, self.owner, nx=True, ex=entry.every + entry.window + MINUTE):
                try:
                    self.jobs.send(entry.actor)
                except Exception:
                    self.redis.delete(key)  # let the next tick (ours or another clock's) try again
                    raise
                sent.append(entry.actor)
                logger.info("enqueued %s (slot %s)", entry.actor, slot)
            self._seen[entry.name] = slot
        return sent

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # a Redis blip must not kill the scheduler; the slot stays open
                logger.exception("clock tick failed; retrying")
            stop.wait(interval)


def main() -> None:
    from settings import load_or_exit
    from workers.broker import build_broker, redis_client
    from workers.jobs import Jobs
    from workers.logs import configure_logging

    settings = load_or_exit()
    configure_logging(settings, process="clock")
    from workers.heartbeat import Beater

    client = redis_client(settings)
    clock = Clock(Jobs(build_broker(settings)), client)
    beater = Beater(client, "clock").start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    logger.info("clock started: %s", ", ".join(f"{e.actor}/{e.every}s" for e in clock.schedule))
    clock.run(stop)
    beater.stop()
    logger.info("clock stopped")


if __name__ == "__main__":
    main()
