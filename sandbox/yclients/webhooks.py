"""Webhooks the sandbox sends to our service, shaped like YCLIENTS' (reference §4.1 lifecycle, §4.3 data)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import requests

from sandbox.yclients.data import iso

TIMEOUT = 10


def lifecycle_payload(salon_id: int, app_id: int, event: str, partner_token: str) -> dict:
    return {"salon_id": int(salon_id), "application_id": int(app_id), "event": event,
            "partner_token": partner_token}


def data_payload(data, resource: str, status: str, resource_id: int | None = None, comment: str = "") -> dict:
    """A record/client create/update/delete for a generated salon (create uses a fresh id past the end)."""
    tz = data.spec.timezone
    now = dt.datetime.now(ZoneInfo(tz)).replace(tzinfo=None)  # salon-local, like every YCLIENTS time
    if resource == "record":
        index = (resource_id - data.spec.salon_id * 10_000_000 - 1) if resource_id else data.spec.records
        obj = data.record(index % data.spec.records)
        obj["id"] = resource_id or data.spec.salon_id * 10_000_000 + data.spec.records + 1
        obj["comment"] = comment or ("Создано через песочницу" if status == "create" else "Изменено через песочницу")
    elif resource == "client":
        index = (resource_id - data.spec.salon_id * 1_000_000 - 1) if resource_id else data.spec.clients
        obj = data.client(index % data.spec.clients)
        obj["id"] = resource_id or data.spec.salon_id * 1_000_000 + data.spec.clients + 1
        if status != "delete":
            obj["name"] = obj["name"] + " (изм.)"
    else:
        raise ValueError(f"unknown resource {resource!r}")
    obj["last_change_date"] = iso(now, tz)
    if status == "delete":
        obj["deleted"] = True
    return {"resource": resource, "status": status, "company_id": data.spec.salon_id, "resource_id": obj["id"],
            "data": obj, "created_at": iso(now, tz)}


def deliver(url: str, payload: dict) -> dict:
    response = requests.post(url, json=payload, timeout=TIMEOUT)
    return {"url": url, "status": response.status_code, "body": response.text[:500], "payload": payload}
