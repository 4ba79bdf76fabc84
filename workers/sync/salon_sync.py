"""The salon sync: company → categories → services → staff → clients → records, resumable page by page.

Each page is fetched, then upserted together with its checkpoint in ONE transaction, so a crash
either loses the whole page (it is fetched again) or keeps it with the checkpoint past it: no gaps,
no duplicates. One actor run works for at most `budget` seconds, then returns "continue" and the
actor re-enqueues itself; the next run resumes from the SyncRun checkpoints. One sync per salon runs
at a time (a heartbeat-refreshed lease, owner = message id). A fetch that would wait for YCLIENTS budget
raises BudgetWait instead (the background priority, runtime/yclients/ratelimit.py): the run notes it is
waiting, releases its lease and raises WaitingForBudget, and the actor re-enqueues the same run with that
delay (workers/sync/budget_wait.py), so no worker thread sleeps for budget.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from zoneinfo import ZoneInfo

from models import salon as S
from models.company import DEFAULT_TIMEZONE
from models.db import utcnow
from models.salon import Salon
from models.sync_run import DONE, FAILED, RUNNING, SyncRun
from models.synced import Client, Record
from models.timeline import record
from runtime import metrics
from runtime.yclients.api import pages
from runtime.yclients.errors import AccessDenied, PermanentError
from runtime.yclients.ratelimit import BudgetWait
from workers.sync.budget_wait import WaitingForBudget, clear_waiting, delay_ms, note_waiting
from workers.sync.company import refresh_company, salon_today, salon_zone
from workers.sync.lease import Lease
from workers.sync.mapping import ENTITIES, upsert
from workers.sync.progress import Progress, overall_percent

logger = logging.getLogger("aiadmin.sync")

FULL_ORDER = ("company", "service_categories", "services", "staff", "clients", "records")
INCREMENTAL_ORDER = ("records",)
LIST_ENTITIES = ("service_categories", "services", "staff")
SYNCABLE_STATES = (S.ACTIVE,)
LEASE_TTL = 20.0
DEFAULT_BUDGET = 300.0  # seconds of work per actor run (the actor's time limit is far above)
INCREMENTAL_OVERLAP = dt.timedelta(minutes=5)


class SyncFailed(Exception):
    """YCLIENTS refused the sync for good (a 4xx): the run is marked failed."""


class SyncAccessDenied(SyncFailed):
    """YCLIENTS answered 401/403 («Нет прав на управление компанией», «Не указан идентификатор партнера»):
    a credentials or install problem. Named so support reads it in `aiadmin failed` and re-queues after the fix."""


# What support reads: «YCLIENTS не дал доступ к клиентам: 403 Не указан идентификатор партнера».
ACCESS_WHAT = {"clients": "к клиентам", "records": "к записям", "company": "к карточке филиала",
               "service_categories": "к категориям услуг", "services": "к услугам", "staff": "к сотрудникам",
               "schedules": "к графикам сотрудников"}


def access_denied_text(entity: str, exc) -> str:
    what = ACCESS_WHAT.get(entity, "к данным салона")
    return f"YCLIENTS не дал доступ {what}: {exc.status} {exc.message or exc}".strip()


def records_window(settings, today: dt.date | None = None) -> tuple[str, str]:
    """The records window in salon-local dates (YCLIENTS reads start/end dates in the salon's timezone); `today`
    by default is today in YCLIENTS' default timezone (a salon whose card we do not have), not this machine's."""
    today = today or dt.datetime.now(ZoneInfo(DEFAULT_TIMEZONE)).date()
    return ((today - dt.timedelta(days=settings.records_days_back)).isoformat(),
            (today + dt.timedelta(days=settings.records_days_ahead)).isoformat())


def current_run(salon_id: int, kind: str, deps) -> SyncRun:
    """The salon's running sync of this kind (to resume), or a new one with fresh checkpoints."""
    run = (SyncRun.select().where((SyncRun.salon_id == salon_id) & (SyncRun.kind == kind) &
                                  (SyncRun.status == RUNNING)).order_by(SyncRun.id.desc()).first())
    if run is not None:
        return run
    order = FULL_ORDER if kind == "full" else INCREMENTAL_ORDER

    start, end = records_window(deps.settings, salon_today(salon_id))
    checkpoints = {entity: {"status": "pending", "page": 1, "done": 0, "total": 0} for entity in order}
    checkpoints["records"].update(start_date=start, end_date=end)
    if kind != "full":
        last = (SyncRun.select().where((SyncRun.salon_id == salon_id) & (SyncRun.status == DONE))
                .order_by(SyncRun.id.desc()).first())
        if last is not None:
            # Overlap the previous run a little: YCLIENTS change times have whole seconds and its clock is not
            # ours, so a change in the same second as that run's start must not fall between two runs.
            since = last.started_at - INCREMENTAL_OVERLAP
            checkpoints["records"]["changed_after"] = since.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    with deps.database.atomic():
        run = SyncRun.create(salon_id=salon_id, kind=kind, status=RUNNING, checkpoints=checkpoints)
        record(salon_id, "sync_started", "worker", run_id=run.id, sync_kind=kind)
    return run


def sync_salon(salon_id: int, kind: str, deps, *, budget: float = DEFAULT_BUDGET, clock=time.monotonic,
               progress_interval: float = 0.3, run_id: int = 0) -> str:
    """Returns 'done', 'continue' (re-enqueue me), 'busy' (another message holds the salon) or 'skipped'.
    Raises WaitingForBudget (after checkpointing and releasing the lease) when YCLIENTS budget is not free for
    background work now: the actor re-enqueues `resume` with that delay. `run_id` names the run a re-enqueued
    message continues: if it has ended meanwhile (another message finished it), this one is skipped."""
    salon = Salon.get_or_none(Salon.salon_id == salon_id)
    if salon is None or salon.state not in SYNCABLE_STATES:
        logger.info("sync of salon %s skipped (state %s)", salon_id, salon and salon.state)
        return "skipped"
    if run_id and not SyncRun.select().where((SyncRun.id == run_id) & (SyncRun.status == RUNNING)).exists():
        logger.info("sync of salon %s skipped: run %s has ended", salon_id, run_id)
        return "skipped"
    lease = Lease(deps.redis, f"sync:{salon_id}", owner=deps.message_id, ttl=LEASE_TTL)
    if not lease.acquire():
        logger.info("sync of salon %s already running (%s)", salon_id, lease.holder())
        return "busy"
    lease.start_heartbeat()
    runner = None
    run = None
    try:
        run = current_run(salon_id, kind, deps)
        runner = _Runner(salon_id, run, deps, Progress(deps.live, salon_id, progress_interval),
                         deadline=clock() + budget, clock=clock)
        if not runner.run():
            return "continue"
        finish(salon_id, run.id, deps)
        return "done"
    except BudgetWait as exc:
        # Every page fetched so far is committed with its checkpoint; nothing was sent for this one.
        delay = delay_ms(exc)
        if note_waiting(deps.redis, salon_id, kind, delay) and runner is not None:
            runner.report_waiting(delay)
        logger.info("sync of salon %s waits %.1fs for YCLIENTS budget (run %s)", salon_id, delay / 1000.0,
                    run.id if run else None)
        raise WaitingForBudget(delay, {"salon_id": salon_id, "kind": kind, "run_id": run.id if run else 0}) from None
    except Exception as exc:
        if isinstance(exc, AccessDenied):
            text = access_denied_text(runner.entity if runner else "", exc)
            fail(salon_id, deps, text)
            raise SyncAccessDenied(text) from exc
        if isinstance(exc, PermanentError):
            fail(salon_id, deps, f"{exc.status}: {exc.message or exc}")
            raise SyncFailed(str(exc)) from exc
        raise
    finally:
        lease.release()


class _Runner:
    def __init__(self, salon_id, run, deps, progress, deadline, clock):
        self.salon_id, self.run_id, self.deps, self.progress = salon_id, run.id, deps, progress
        self.checkpoints = dict(run.checkpoints)
        self.deadline, self.clock = deadline, clock
        self.entity = ""  # the entity being fetched (names an access failure)
        self._moving = False  # a page was saved in this run (the "waiting for budget" note is cleared)

        self.tz = salon_zone(salon_id)

    def run(self) -> bool:
        for entity, cp in list(self.checkpoints.items()):
            if cp.get("status") == "done":
                continue
            self.entity = entity
            if entity == "company":
                self._company()
            elif entity in LIST_ENTITIES:
                self._list(entity)
            elif not self._pages(entity):
                return False
            if self.clock() > self.deadline and not self._all_done():
                return False
        return True

    def report_waiting(self, delay: int) -> None:
        """The page keeps showing the run's progress, with why it pauses and for how long."""
        point = self.checkpoints.get(self.entity, {})
        self.progress.report("running", self.entity, int(point.get("done", 0) or 0), int(point.get("total", 0) or 0),
                             force=True, checkpoints=self.checkpoints, waiting="yclients_budget",
                             retry_in_s=round(delay / 1000.0, 1))

    def _all_done(self) -> bool:
        return all(cp.get("status") == "done" for cp in self.checkpoints.values())

    def _save(self, entity, cp, items=None, fetched_at=None) -> None:
        """Rows and checkpoint in one transaction: the checkpoint never points past uncommitted rows."""
        if not self._moving:
            clear_waiting(self.deps.redis, self.salon_id)  # got budget again: no longer "waiting"
            self._moving = True
        self.checkpoints[entity] = cp
        with self.deps.database.atomic():
            if items is not None:
                upsert(entity, self.salon_id, items, now=fetched_at, tz=self.tz)
            SyncRun.update(checkpoints=self.checkpoints, entity=entity, requests=SyncRun.requests + 1,
                           updated_at=utcnow()).where(SyncRun.id == self.run_id).execute()
        self.progress.report("running", entity, cp["done"], cp["total"], force=cp["status"] == "done",
                             checkpoints=self.checkpoints)

    def _company(self) -> None:
        refresh_company(self.salon_id, self.deps)  # the card, the salon's title and its timezone
        self.tz = salon_zone(self.salon_id)
        records = self.checkpoints.get("records")
        if records is not None and records["status"] == "pending" and "changed_after" not in records:
            # A first sync was planned before the card was stored, its records window around "today" in YCLIENTS'
            # default timezone; the salon's own today can be another date (in Yekaterinburg from 19:00 UTC).
            start, end = records_window(self.deps.settings, salon_today(self.salon_id))
            records.update(start_date=start, end_date=end)
        self._save("company", {"status": "done", "page": 2, "done": 1, "total": 1})

    def _list(self, entity) -> None:
        fetched_at = utcnow()
        items = list(getattr(self.deps.api, entity)(self.salon_id))
        self._save(entity, {"status": "done", "page": 2, "done": len(items), "total": len(items)}, items, fetched_at)

    def _pages(self, entity) -> bool:
        cp = dict(self.checkpoints[entity])
        if entity == "clients":
            fetch = lambda page: self.deps.api.clients_page(self.salon_id, page)  # noqa: E731
        else:
            fetch = lambda page: self.deps.api.records_page(  # noqa: E731
                self.salon_id, page, cp["start_date"], cp["end_date"], cp.get("changed_after"))
        done = cp.get("done", 0)
        fetched = {}

        def timed(page):  # when each page was read: a deletion applied after it must win (mapping._newer_wins)
            fetched[page] = utcnow()
            return fetch(page)

        for page in pages(timed, start_page=cp.get("page", 1), done=done, prefetch=True):  # the next loads meanwhile
            done += len(page.items)
            finished = page.last
            total = page.total if page.total is not None else (done if finished else done + (page.size or 0))
            cp.update(page=page.number + 1, done=done, total=total, status="done" if finished else "running")
            self._save(entity, dict(cp), page.items, fetched.pop(page.number, None))
            if finished:
                return True
            if self.clock() > self.deadline:
                return False
        return True


def count_rows(salon_id: int) -> dict:
    counts = {}
    for entity, (model, _) in ENTITIES.items():
        query = model.select().where(model.salon_id == salon_id)
        if hasattr(model, "deleted"):
            query = query.where(model.deleted == False)  # noqa: E712
        counts[entity] = query.count()
    return counts


def mark_missing_deleted(run: SyncRun) -> dict:
    """After a full run, rows this run did not see are gone in YCLIENTS: flag them deleted.

    Clients: every client is read, so any row not touched since the run started is gone. Records: only
    inside the window, shrunk by a day at each end because the window is in salon-local dates and
    our times are UTC (a record just outside it was never asked for and must not be flagged).
    """
    if run.kind != "full":
        return {}
    window = run.checkpoints.get("records", {})
    start = dt.datetime.fromisoformat(window["start_date"]) + dt.timedelta(days=1)
    end = dt.datetime.fromisoformat(window["end_date"])
    # A row changed after the run started (a webhook) is newer than what the run read: never flag it.
    clients = (Client.update(deleted=True)
               .where((Client.salon_id == run.salon_id) & (Client.synced_at < run.started_at) &
                      (Client.changed_at.is_null() | (Client.changed_at < run.started_at)) &
                      (Client.deleted == False)).execute())  # noqa: E712
    records = (Record.update(deleted=True)
               .where((Record.salon_id == run.salon_id) & (Record.synced_at < run.started_at) &
                      (Record.changed_at.is_null() | (Record.changed_at < run.started_at)) &
                      (Record.deleted == False) & (Record.datetime >= start) & (Record.datetime < end))  # noqa: E712
               .execute())
    return {"clients": clients, "records": records}


def finish(salon_id: int, run_id: int, deps) -> None:
    with deps.database.atomic():
        run = SyncRun.get_by_id(run_id)
        gone = mark_missing_deleted(run)
    if any(gone.values()):
        logger.info("salon %s: flagged deleted after full sync: %s", salon_id, gone)
    counts = count_rows(salon_id)
    with deps.database.atomic():
        SyncRun.update(status=DONE, entity="", counts=counts, finished_at=utcnow(), updated_at=utcnow()).where(
            SyncRun.id == run_id).execute()
        record(salon_id, "sync_done", "worker", run_id=run_id, counts=counts)
    metrics.sync_run_finished(run_id, "done")
    total = sum(counts.values())
    deps.live.publish(salon_id, "sync", {"status": "done", "entity": "all", "done": total, "total": total,
                                         "counts": counts, "percent": 100, "code": "sync_done"})
    if run.kind == "full":
        deps.jobs.sync_schedules(salon_id)  # staff are stored now: their schedules follow (schedules.py)


def fail(salon_id: int, deps, error: str) -> None:
    with deps.database.atomic():
        run = (SyncRun.select().where((SyncRun.salon_id == salon_id) & (SyncRun.status == RUNNING))
               .order_by(SyncRun.id.desc()).first())
        if run is None:
            return
        SyncRun.update(status=FAILED, error=error[:2000], finished_at=utcnow(), updated_at=utcnow()).where(
            SyncRun.id == run.id).execute()
        record(salon_id, "sync_failed", "worker", run_id=run.id, error=error[:500])
    metrics.sync_run_finished(run.id, "failed")
    point = (run.checkpoints or {}).get(run.entity or "", {})
    deps.live.publish(salon_id, "sync", {"status": "failed", "entity": run.entity or "",
                                         "done": int(point.get("done", 0) or 0),
                                         "total": int(point.get("total", 0) or 0),
                                         "percent": overall_percent(run.checkpoints or {}), "code": "sync_failed"})
