"""Sync actors (issue: pipeline)."""
from __future__ import annotations

from workers.registry import actor
from workers.sync.full import SyncFailed
from workers.yclients.errors import PermanentError


# One run works for at most workers.sync.full.DEFAULT_BUDGET seconds, then re-enqueues itself and the
# next run resumes from the checkpoints, so even the large salon stays far inside the time limit.
@actor(queue_name="sync", time_limit=900_000, max_retries=8, min_backoff=2_000, max_backoff=300_000,
       throws=(SyncFailed,), on_retry_exhausted="sync_exhausted")
def sync_salon(salon_id: int, kind: str = "full") -> None:
    """Full (or incremental) sync of a salon's data from YCLIENTS; resumable from checkpoints."""
    from workers.onboarding.deps import from_runtime
    from workers.sync.full import sync_salon as run

    deps = from_runtime()
    if run(salon_id, kind, deps) == "continue":
        deps.enqueue("sync_salon", salon_id, kind)  # after the lease is released and the page committed


@actor(queue_name="sync", max_retries=3, time_limit=60_000)
def sync_exhausted(message_data: dict, retry_info: dict) -> None:
    """sync_salon failed for good on transient errors: mark the run failed and tell the page."""
    from workers.onboarding.deps import from_runtime
    from workers.sync.full import fail

    fail(int(message_data["args"][0]), from_runtime(), f"YCLIENTS unavailable after {retry_info.get('retries')} "
                                                       "retries")



# A 4xx (403: credentials, 404: staff gone) cannot be fixed by retrying: it goes to `aiadmin failed`.
@actor(queue_name="sync", time_limit=300_000, max_retries=5, min_backoff=5_000, max_backoff=300_000,
       throws=(PermanentError, SyncFailed))
def sync_schedules(salon_id: int) -> None:
    """Working intervals of the salon's bookable staff for the next 30 days (hourly; workers/sync/schedules.py)."""
    from workers.onboarding.deps import from_runtime
    from workers.sync.schedules import sync_schedules as run

    run(salon_id, from_runtime())


@actor(queue_name="sync", time_limit=60_000, max_retries=5, min_backoff=5_000, max_backoff=300_000,
       throws=(PermanentError,))
def refresh_company(salon_id: int) -> None:
    """Re-read the salon's company card (title, contacts, timezone, hours); weekly, workers/sync/company.py."""
    from models import salon as S
    from models.salon import Salon
    from workers.onboarding.deps import from_runtime
    from workers.sync.company import refresh_company as run

    salon = Salon.get_or_none(Salon.salon_id == salon_id)
    if salon is not None and salon.state == S.ACTIVE:
        run(salon_id, from_runtime())
