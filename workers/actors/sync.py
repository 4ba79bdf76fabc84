"""Sync actors (issue: pipeline)."""
from __future__ import annotations

from models import salon as S
from models.salon import Salon
from runtime.yclients.errors import PermanentError
from workers.onboarding.completion import maybe_complete
from workers.onboarding.deps import Deps
from workers.process import current
from workers.registry import actor
from workers.sync import company, salon_sync, schedules
from workers.sync.budget_wait import BudgetWait, WaitingForBudget, delay_ms
from workers.sync.salon_sync import SyncFailed


def _deps() -> Deps:
    return Deps.of(current())


# One run works for at most workers.sync.salon_sync.DEFAULT_BUDGET seconds, then re-enqueues itself and the
# next run resumes from the checkpoints, so even the large salon stays far inside the time limit.
# Waiting for YCLIENTS budget is not a failure: the service checkpoints and raises WaitingForBudget, and the
# same run is re-enqueued with the wait as its delay (a new message; no retry is burnt, no thread sleeps).
@actor(queue_name="sync", time_limit=900_000, max_retries=8, min_backoff=2_000, max_backoff=300_000,
       throws=(SyncFailed,), on_retry_exhausted="sync_exhausted")
def sync_salon(salon_id: int, kind: str = "full", run_id: int = 0) -> None:
    """Full (or incremental) sync of a salon's data from YCLIENTS; resumable from checkpoints. `run_id`: the run
    a re-enqueued message continues (skipped if that run has ended)."""
    deps = _deps()
    try:
        outcome = salon_sync.sync_salon(salon_id, kind, deps, run_id=run_id)
    except WaitingForBudget as wait:
        deps.jobs.sync_salon(salon_id, kind, wait.resume.get("run_id", 0), delay_ms=wait.delay_ms)
        return
    if outcome == "continue":
        deps.jobs.sync_salon(salon_id, kind)  # after the lease is released and the page committed
    elif outcome == "done":
        maybe_complete(salon_id, deps)  # the sync may be what the onboarding page still waited for


@actor(queue_name="sync", max_retries=3, time_limit=60_000)
def sync_exhausted(message_data: dict, retry_info: dict) -> None:
    """sync_salon failed for good on transient errors: mark the run failed and tell the page."""
    salon_sync.fail(int(message_data["args"][0]), _deps(),
              f"YCLIENTS unavailable after {retry_info.get('retries')} retries")


# A 4xx (403: credentials, 404: staff gone) cannot be fixed by retrying: it goes to `aiadmin failed`.
@actor(queue_name="sync", time_limit=300_000, max_retries=5, min_backoff=5_000, max_backoff=300_000,
       throws=(PermanentError, SyncFailed))
def sync_schedules(salon_id: int, after_staff: int = 0) -> None:
    """Working intervals of the salon's bookable staff for the next 30 days (hourly; workers/sync/schedules.py).
    `after_staff`: a run re-enqueued while waiting for budget resumes after the staff member it stored last."""
    deps = _deps()
    try:
        schedules.sync_schedules(salon_id, deps, after_staff=after_staff)
    except WaitingForBudget as wait:
        deps.jobs.sync_schedules(salon_id, wait.resume.get("after_staff", 0), delay_ms=wait.delay_ms)


@actor(queue_name="sync", time_limit=60_000, max_retries=5, min_backoff=5_000, max_backoff=300_000,
       throws=(PermanentError,))
def refresh_company(salon_id: int) -> None:
    """Re-read the salon's company card (title, contacts, timezone, hours); weekly, workers/sync/company.py."""
    salon = Salon.get_or_none(Salon.salon_id == salon_id)
    if salon is not None and salon.state == S.ACTIVE:
        deps = _deps()
        try:
            company.refresh_company(salon_id, deps)
        except BudgetWait as exc:  # one call, nothing to checkpoint: come back when budget is free
            deps.jobs.refresh_company(salon_id, delay_ms=delay_ms(exc))
