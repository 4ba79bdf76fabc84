"""Fan-out of periodic work: which salons get a sync or an expiry check right now.

Only `active` salons are synced: frozen and uninstalled ones drop out of the schedule by state,
so uninstall and freeze need no scheduler bookkeeping to "stop scheduled work".
"""
from __future__ import annotations

import datetime

from models import salon as s
from models.salon import Salon
from workers.lifecycle import salon_state

# A nightly full reconcile of many salons would otherwise start all at once and queue on the shared
# YCLIENTS budget for an hour; spreading the starts keeps each sync's time limit meaningful.
FULL_SYNC_STAGGER_MS = 30_000


def active_salons() -> list[int]:
    return [row.salon_id for row in Salon.select(Salon.salon_id).where(Salon.state == s.ACTIVE)
            .order_by(Salon.salon_id)]


def enqueue_syncs(jobs, kind: str, stagger_ms: int = 0) -> int:
    salons = active_salons()
    for index, salon_id in enumerate(salons):
        jobs.send("sync_salon", salon_id, kind, delay_ms=index * stagger_ms or None)
    return len(salons)


def enqueue_expiries(jobs, now: datetime.datetime | None = None) -> int:
    salons = salon_state.abandoned_onboardings(now)
    for salon_id in salons:
        jobs.send("expire_onboarding", salon_id)
    return len(salons)


def enqueue_schedule_syncs(jobs) -> int:
    """`sync_schedules(id)` for every active salon (hourly)."""
    salons = active_salons()
    for salon_id in salons:
        jobs.send("sync_schedules", salon_id)
    return len(salons)


def enqueue_company_refreshes(jobs) -> int:
    """`refresh_company(id)` for every active salon whose card is missing or a week old (checked daily)."""
    from workers.sync.company import stale_companies

    salons = stale_companies()
    for salon_id in salons:
        jobs.send("refresh_company", salon_id)
    return len(salons)
