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
from workers.sync.mapping import client_row, parse_time, record_row

MODELS = {"record": Record, "client": Client}
# The same mapping as the full sync (workers/sync/mapping.py), so a row looks alike whichever wrote it.
ROWS = {"record": record_row, "client": client_row}
DELETE = "delete"
KEYS = ("salon_id", "yclients_id", "synced_at")


BIGINT = 2 ** 63 - 1


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or isinstance(value, float):
        return None
    try:
        number = int(str(value).strip()) if isinstance(value, str) and len(value) <= 20 else int(value)
    except (TypeError, ValueError):
        return None
    return number if -BIGINT <= number <= BIGINT else None


def _storable(value: Any) -> Any:
    """What a column can hold on SQLite and PostgreSQL: no out-of-range integer, no NUL in text.
    A junk field becomes empty instead of failing the delivery forever."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if -BIGINT <= value <= BIGINT else None
    if isinstance(value, str):
        return value.replace("\x00", "")
    return value


def fields_of(resource: str, salon_id: int, yclients_id: int, data: dict, tz=None) -> dict[str, Any]:
    row = ROWS[resource](salon_id, {**data, "id": yclients_id}, None, tz)
    return {k: _storable(v) for k, v in row.items() if k not in KEYS}


def changed_at_of(delivery: WebhookDelivery, tz=None) -> datetime.datetime:
    """Offset-less times are salon-local (`tz`, workers/sync/company.py), like in the full sync."""
    body = delivery.body or {}
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    return (parse_time(data.get("last_change_date"), tz) or parse_time(body.get("created_at"), tz)
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
    from workers.sync.company import salon_zone

    tz = salon_zone(delivery.salon_id)
    changed_at = changed_at_of(delivery, tz)
    is_delete = delivery.status == DELETE
    row = model.get_or_none(model.salon_id == delivery.salon_id, model.yclients_id == yclients_id)

    if row is not None and row.changed_at is not None and changed_at < row.changed_at:
        return Effect(STALE, f"older than the stored change {row.changed_at.isoformat()}")
    if is_delete:
        fields = {"deleted": True}
        if row is None:
            fields = {**fields_of(delivery.resource, delivery.salon_id, yclients_id, data, tz), "deleted": True}
    else:
        fields = fields_of(delivery.resource, delivery.salon_id, yclients_id, data, tz)
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
