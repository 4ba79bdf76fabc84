"""What a correct full sync of a generated salon stores: per-entity counts and a checksum of key fields.

Tests compute the same checksum from our database (tests/unit/workers/test_sync_full.py: db_digest); both
hash the sorted (id, field...) tuples, so any missing, duplicated or altered row changes it.
"""
from __future__ import annotations

import datetime as dt
import hashlib


def checksum(rows) -> str:
    h = hashlib.sha256()
    for row in sorted(rows):
        h.update(repr(row).encode("utf-8"))
    return h.hexdigest()


def utc_iso(value: str) -> str:
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment.isoformat()


def salon_digest(data, start_date: str, end_date: str, deleted=()) -> dict:
    records = [data.record(i) for i in data.record_range(dt.date.fromisoformat(start_date),
                                                         dt.date.fromisoformat(end_date))]
    records = [r for r in records if r["id"] not in deleted]
    clients = [data.client(i) for i in range(data.spec.clients)]
    return {
        "counts": {"service_categories": len(data.service_categories()), "services": len(data.services()),
                   "staff": len(data.staff()), "clients": len(clients), "records": len(records)},
        "checksums": {
            "clients": checksum((c["id"], c["name"], c["phone"]) for c in clients),
            "records": checksum((r["id"], r["staff_id"], r["client"]["id"], utc_iso(r["datetime"])) for r in records),
            "services": checksum((s["id"], s["category_id"], s["title"]) for s in data.services()),
        },
    }
