"""The salon data REST API over the generated salons (reference §5.2): envelope, pagination, server caps."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, request

from sandbox.yclients.marketplace import envelope, partner_authorized

bp = Blueprint("data_api", __name__, url_prefix="/api/v1")

CLIENTS_CAP = 200  # documented maximum page_size of clients/search
RECORDS_CAP = 200  # the server returns at most this many records whatever `count` asked for


def ctx():
    return current_app.config["SANDBOX"]


def salon_or_error(salon_id):
    if not partner_authorized():
        return None, envelope(None, 401, "Необходима авторизация")
    data = ctx().catalog.get(salon_id)
    if data is None:
        return None, envelope(None, 404, "Филиал не найден")
    return data, None


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
    data, error = salon_or_error(salon_id)
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
    items = [data.client(i) for i in range(start, min(start + size, total))]
    return envelope(items, meta={"page": page, "total_count": total})


@bp.get("/records/<int:salon_id>")
def records(salon_id):
    data, error = salon_or_error(salon_id)
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
    changed_after = request.args.get("changed_after")
    if changed_after:
        # Generated records last changed at the span start; nothing changed after a later moment.
        try:
            moment = dt.datetime.fromisoformat(changed_after.replace("Z", "+00:00")).replace(tzinfo=None)
        except ValueError:
            return envelope({"errors": {"changed_after": ["bad datetime"]}}, 422, "Validation failed")
        if moment >= data.span_start:
            selected = range(0)
    offset = (page - 1) * count
    indexes = selected[offset:offset + count]
    return envelope([data.record(i) for i in indexes], meta={"page": page, "total_count": len(selected)})
