"""Staff schedules: the working intervals of every bookable staff member for the next 30 salon-local days.

One YCLIENTS call per staff member (`GET /schedule/{salon}/{staff}/{start}/{end}`), refreshed hourly for
active salons by the clock and after every full sync. Each staff member's days are replaced in one
transaction, so a reader sees either the old or the new schedule, and a day that became a day off in
YCLIENTS stops being bookable at the next refresh. The model is documented in docs/pipeline.md.
"""
from __future__ import annotations

import datetime as dt
import logging

from models import salon as S
from models.db import utcnow
from models.salon import Salon
from models.schedule import StaffSchedule
from models.synced import Staff
from runtime.yclients.errors import AccessDenied
from workers.sync.budget_wait import BudgetWait, WaitingForBudget, delay_ms
from workers.sync.company import salon_today, salon_zone
from workers.sync.salon_sync import SyncAccessDenied, access_denied_text
from workers.sync.lease import Lease

logger = logging.getLogger("aiadmin.sync.schedules")

DAYS = 30
LEASE_TTL = 20.0


def _clock(value) -> dt.time | None:
    try:
        hours, minutes = str(value).strip().split(":")[:2]
        return dt.time(int(hours), int(minutes))
    except (ValueError, TypeError):
        return None


def intervals_of(day: dict) -> list[list[str]]:
    """`[["10:00", "14:00"], ...]` from a YCLIENTS day's slots, sorted, unreadable or empty ones dropped."""
    out = []
    for slot in day.get("slots") or []:
        if not isinstance(slot, dict):
            continue
        start, end = _clock(slot.get("from")), _clock(slot.get("to"))
        if start is not None and end is not None and start < end:
            out.append([start.strftime("%H:%M"), end.strftime("%H:%M")])
    return sorted(out)


def _utc(day: dt.date, clock: str, tz) -> dt.datetime:
    local = dt.datetime.combine(day, _clock(clock)).replace(tzinfo=tz)
    return local.astimezone(dt.timezone.utc).replace(tzinfo=None)


def schedule_rows(salon_id: int, staff_id: int, days: list, tz, now: dt.datetime) -> list[dict]:
    rows = {}
    for day in days:
        if not isinstance(day, dict):
            continue
        try:
            date = dt.date.fromisoformat(str(day.get("date"))[:10])
        except ValueError:
            continue
        intervals = intervals_of(day)
        working = bool(day.get("is_working", True)) and bool(intervals)
        rows[date] = {"salon_id": salon_id, "staff_id": staff_id, "date": date, "working": working,
                      "intervals": intervals if working else [],
                      "starts_at": _utc(date, intervals[0][0], tz) if working else None,
                      "ends_at": _utc(date, intervals[-1][1], tz) if working else None,
                      "data": day, "synced_at": now}
    return list(rows.values())


def bookable_staff(salon_id: int) -> list[int]:
    """Staff the assistant may book (stored by the full sync): bookable, not fired, not hidden."""
    rows = Staff.select().where((Staff.salon_id == salon_id) & (Staff.bookable == True) &  # noqa: E712
                                (Staff.fired == False))  # noqa: E712
    return [row.yclients_id for row in rows.order_by(Staff.yclients_id) if not int((row.data or {}).get("hidden") or 0)]


def _fetch(deps, salon_id: int, staff_id: int, start: dt.date, end: dt.date) -> list:
    try:
        return deps.api.staff_schedule(salon_id, staff_id, start.isoformat(), end.isoformat())
    except AccessDenied as exc:  # named for `aiadmin failed`, like the sync's
        raise SyncAccessDenied(access_denied_text("schedules", exc)) from exc


def sync_schedules(salon_id: int, deps, days: int = DAYS, today: dt.date | None = None,
                   after_staff: int = 0) -> int | None:
    """Refresh the salon's schedules; returns the rows stored, or None when skipped (not active / busy).
    Staff members are stored one by one in id order; when YCLIENTS budget is not free for background work,
    raises WaitingForBudget to resume after the last one stored (`after_staff`)."""
    salon = Salon.get_or_none(Salon.salon_id == salon_id)
    if salon is None or salon.state != S.ACTIVE:
        return None
    lease = Lease(deps.redis, f"schedules:{salon_id}", owner=deps.message_id, ttl=LEASE_TTL)
    if not lease.acquire():
        return None
    lease.start_heartbeat()
    try:
        tz = salon_zone(salon_id)
        start = today or salon_today(salon_id)
        end = start + dt.timedelta(days=days - 1)
        staff_ids = bookable_staff(salon_id)
        stored = 0
        for staff_id in staff_ids:
            if staff_id <= after_staff:
                continue  # stored by the run this one resumes
            try:
                fetched = _fetch(deps, salon_id, staff_id, start, end)
            except BudgetWait as exc:
                raise WaitingForBudget(delay_ms(exc), {"after_staff": after_staff}) from None
            rows = [r for r in schedule_rows(salon_id, staff_id, fetched, tz, utcnow()) if start <= r["date"] <= end]
            with deps.database.atomic():
                (StaffSchedule.delete().where((StaffSchedule.salon_id == salon_id) &
                                              (StaffSchedule.staff_id == staff_id) &
                                              (StaffSchedule.date >= start) & (StaffSchedule.date <= end)).execute())
                if rows:
                    StaffSchedule.insert_many(rows).execute()
            stored += len(rows)
            after_staff = staff_id
        with deps.database.atomic():  # past days and staff no longer bookable drop out
            (StaffSchedule.delete().where((StaffSchedule.salon_id == salon_id) &
                                          ((StaffSchedule.date < start) |
                                           StaffSchedule.staff_id.not_in(staff_ids or [0]))).execute())
        logger.info("salon %s: %s schedule days stored for %s staff", salon_id, stored, len(staff_ids))
        return stored
    finally:
        lease.release()
