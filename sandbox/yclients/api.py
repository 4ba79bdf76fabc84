"""The salon data REST API over the generated salons (reference §5.2): envelope, pagination, server caps.

Like the real one it is inconvenient: the user-authorised methods (clients, records, schedules) answer
403 «Не указан идентификатор партнера» without `X-Partner-Id`, 403 «Нет прав на управление компанией» with
a wrong one or for a salon that uninstalled the app (I-20); faults can drop `meta.total_count` and the
offset of record times; deleted records vanish from lists and come back `deleted` with `with_deleted=1`.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, request

from sandbox.yclients.marketplace import envelope, partner_authorized
from sandbox.yclients.rendered import dumps as rendered_dumps
from sandbox.yclients.rendered import page as page_of

bp = Blueprint("data_api", __name__, url_prefix="/api/v1")

CLIENTS_CAP = 200  # documented maximum page_size of clients/search
RECORDS_CAP = 200  # the server returns at most this many records whatever `count` asked for


def ctx():
    return current_app.config["SANDBOX"]


NO_PARTNER_ID = "Не указан идентификатор партнера"
NO_RIGHTS = "Нет прав на управление компанией"


def salon_or_error(salon_id, user_auth: bool = False):
    """The salon's data, or the error YCLIENTS answers. `user_auth`: a method documented as Bearer+User."""
    if not partner_authorized():
        return None, envelope(None, 401, "Необходима авторизация")
    data = ctx().catalog.get(salon_id)
    if data is None:
        return None, envelope(None, 404, "Филиал не найден")
    if user_auth:
        partner_id = request.headers.get("X-Partner-Id", "").strip()
        if not partner_id:
            return None, envelope(None, 403, NO_PARTNER_ID)
        if partner_id != ctx().partner_id or ctx().installs.uninstalled(salon_id):
            return None, envelope(None, 403, NO_RIGHTS)
    return data, None


def listing_meta(page: int, total: int) -> dict:
    if ctx().faults.snapshot()["omit_total_count"]:
        return {"page": page}
    return {"page": page, "total_count": total}


def _int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@bp.get("/company/<int:salon_id>")
@bp.get("/company/<int:salon_id>/")
def company(salon_id):
    data, error = salon_or_error(salon_id)
    return error or envelope(data.company())


@bp.get("/company/<int:salon_id>/service_categories")
def service_categories(salon_id):
    data, error = salon_or_error(salon_id)
    return error or envelope(data.service_categories(), meta={"total_count": len(data.service_categories())})


@bp.get("/company/<int:salon_id>/services")
def services(salon_id):
    data, error = salon_or_error(salon_id)
    return error or envelope(data.services(), meta={"total_count": len(data.services())})


@bp.get("/company/<int:salon_id>/staff")
def staff(salon_id):
    data, error = salon_or_error(salon_id)
    return error or envelope(data.staff(), meta={"total_count": len(data.staff())})


@bp.post("/company/<int:salon_id>/clients/search")
def clients_search(salon_id):
    data, error = salon_or_error(salon_id, user_auth=True)
    if error:
        return error
    body = request.get_json(silent=True) or {}
    page = max(1, _int(body.get("page"), 1))
    size = _int(body.get("page_size"), 25)
    if size < 1:
        return envelope({"errors": {"page_size": ["must be positive"]}}, 422, "Validation failed")
    size = min(size, CLIENTS_CAP)
    total = data.spec.clients
    start = (page - 1) * size
    rendered = ctx().rendered
    return page_of([rendered.item(data, "clients", i) for i in range(start, min(start + size, total))],
                   meta=listing_meta(page, total))


@bp.get("/schedule/<int:salon_id>/<int:staff_id>/<start_date>/<end_date>")
def staff_schedule(salon_id, staff_id, start_date, end_date):
    data, error = salon_or_error(salon_id, user_auth=True)
    if error:
        return error
    try:
        start, end = dt.date.fromisoformat(start_date), dt.date.fromisoformat(end_date)
    except ValueError:
        return envelope({"errors": {"start_date": ["bad date"]}}, 422, "Validation failed")
    days = data.schedule(staff_id, start, end)
    if days is None:
        return envelope(None, 404, "Сотрудник не найден")
    return envelope(days)


def _record(data, index: int, deleted: dict, naive: bool) -> dict:
    item = data.record(index)
    when = deleted.get(item["id"])
    if when is not None:
        item.update(deleted=True, last_change_date=when)
    if naive:  # what the real API does in places: the salon's wall time, no offset
        for key in ("datetime", "last_change_date", "create_date"):
            item[key] = item[key][:19].replace("T", " ")
    return item


@bp.get("/records/<int:salon_id>")
def records(salon_id):
    data, error = salon_or_error(salon_id, user_auth=True)
    if error:
        return error
    try:
        start = dt.date.fromisoformat(request.args.get("start_date") or data.anchor.isoformat())
        end = dt.date.fromisoformat(request.args.get("end_date") or start.isoformat())
    except ValueError:
        return envelope({"errors": {"start_date": ["bad date"]}}, 422, "Validation failed")
    page = max(1, _int(request.args.get("page"), 1))
    count = min(max(1, _int(request.args.get("count"), 50)), RECORDS_CAP)
    selected = data.record_range(start, end)
    deleted = ctx().installs.deleted_records(salon_id)
    with_deleted = request.args.get("with_deleted") in ("1", "true")
    if deleted and not with_deleted:
        selected = [i for i in selected if data.record_id(i) not in deleted]
    changed_after = request.args.get("changed_after")
    if changed_after:
        # Generated records last changed at the span start; deleted ones when they were deleted.
        try:
            moment = dt.datetime.fromisoformat(changed_after.replace("Z", "+00:00"))
        except ValueError:
            return envelope({"errors": {"changed_after": ["bad datetime"]}}, 422, "Validation failed")
        zone = ZoneInfo(data.spec.timezone)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        if data.span_start.replace(tzinfo=zone) <= moment:
            since = {rid for rid, when in deleted.items() if dt.datetime.fromisoformat(when) > moment}
            selected = [i for i in selected if data.record_id(i) in since]
    offset = (page - 1) * count
    indexes = selected[offset:offset + count]
    naive = ctx().faults.snapshot()["naive_datetimes"]
    rendered = ctx().rendered
    items = [rendered_dumps(_record(data, i, deleted, naive)) if naive or data.record_id(i) in deleted
             else rendered.item(data, "records", i) for i in indexes]
    return page_of(items, meta=listing_meta(page, len(selected)))
