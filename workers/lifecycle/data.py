"""Data webhooks: incremental upserts and deletes of records and clients, newest change wins.

Each row keeps `changed_at` (YCLIENTS' `last_change_date`, else the webhook's `created_at`, else
when we received it). A delivery older than the stored row is `stale` and changes nothing; one
equal to what is stored is a `duplicate` (YCLIENTS repeats deliveries, I-19). A delete is a soft
flag, and a delete of a row we never saw leaves a tombstone so a late, older create cannot revive it.
"""
from __future__ import annotations

import datetime
from typing import Any

from models import salon as s
from models.salon import Salon
from models.synced import Client, Record
from models.webhook_delivery import APPLIED, DUPLICATE, IGNORED, STALE, WebhookDelivery
from workers.lifecycle.effects import Effect

MODELS = {"record": Record, "client": Client}
DELETE = "delete"
MSK = datetime.timezone(datetime.timedelta(hours=3))  # YCLIENTS' local time when a stamp has no offset


def parse_time(value: Any) -> datetime.datetime | None:
    """A YCLIENTS timestamp (`2025-08-06T13:55:05+0300`, `2025-08-06 13:55:05`, or epoch seconds) as naive UTC."""
    if value in (None, "", 0):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc).replace(tzinfo=None)
    if not isinstance(value, str):
        return None
    text = value.strip().replace(" ", "T", 1)
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit() and ":" not in text[-5:]:
        text = f"{text[:-2]}:{text[-2:]}"  # +0300 -> +03:00
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=MSK)
    return parsed.astimezone(datetime.timezone.utc).replace(tzinfo=None)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _nested_id(data: dict, key: str) -> int | None:
    nested = data.get(key)
    return _int(nested.get("id")) if isinstance(nested, dict) else None


def record_fields(data: dict) -> dict[str, Any]:
    return {
        "staff_id": _int(data.get("staff_id")) or _nested_id(data, "staff"),
        "client_id": _nested_id(data, "client"),
        "datetime": parse_time(data.get("datetime")),
        "seance_length": _int(data.get("seance_length")),
        "attendance": _int(data.get("attendance")) or 0,
        "comment": str(data.get("comment") or ""),
        "deleted": bool(data.get("deleted")),
    }


def client_fields(data: dict) -> dict[str, Any]:
    return {
        "name": str(data.get("name") or "")[:255],
        "phone": "".join(ch for ch in str(data.get("phone") or "") if ch.isdigit())[:32],
        "email": str(data.get("email") or "")[:255],
        "visits_count": _int(data.get("visits_count", data.get("visits"))) or 0,
        "deleted": bool(data.get("deleted")),
    }


FIELDS = {"record": record_fields, "client": client_fields}


def changed_at_of(delivery: WebhookDelivery) -> datetime.datetime:
    body = delivery.body or {}
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    return (parse_time(data.get("last_change_date")) or parse_time(body.get("created_at"))
            or delivery.received_at)


def apply(delivery: WebhookDelivery) -> Effect:
    """Apply one data delivery; call it inside `salon_lock` (the read-compare-write must not interleave)."""
    model = MODELS.get(delivery.resource)
    if model is None:
        return Effect(IGNORED, f"resource {delivery.resource!r} is not synced")
    salon = Salon.get_or_none(Salon.salon_id == delivery.salon_id)
    if salon is None or salon.state == s.UNINSTALLED:
        return Effect(IGNORED, "unknown salon" if salon is None else "salon uninstalled")
    body = delivery.body or {}
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    yclients_id = delivery.resource_id or _int(data.get("id"))
    if yclients_id is None:
        return Effect(IGNORED, "no resource id")
    changed_at = changed_at_of(delivery)
    is_delete = delivery.status == DELETE
    row = model.get_or_none(model.salon_id == delivery.salon_id, model.yclients_id == yclients_id)

    if row is not None and row.changed_at is not None and changed_at < row.changed_at:
        return Effect(STALE, f"older than the stored change {row.changed_at.isoformat()}")
    if is_delete:
        fields = {"deleted": True}
        if row is None:
            fields.update(FIELDS[delivery.resource](data) if data else {}, deleted=True)
    else:
        fields = FIELDS[delivery.resource](data)
        fields["data"] = data
    fields["changed_at"] = changed_at

    if row is not None and all(getattr(row, k) == v for k, v in fields.items()):
        return Effect(DUPLICATE, "identical to the stored row")
    if row is None:
        model.create(salon_id=delivery.salon_id, yclients_id=yclients_id, **{"data": data, **fields})
    else:
        # The guard on changed_at also protects against a sync that wrote a newer row meanwhile.
        (model.update(**fields)
         .where(model.id == row.id, model.changed_at.is_null() | (model.changed_at <= changed_at))
         .execute())
    return Effect(APPLIED, f"{delivery.resource} {yclients_id} {'deleted' if is_delete else 'upserted'}")
