"""Our database's digest of a salon, to compare with the sandbox's (sandbox/yclients/digest.py)."""
from __future__ import annotations

from models.synced import Client, Record, Service, ServiceCategory, Staff
from sandbox.yclients.digest import checksum


def db_digest(salon_id):
    clients = Client.select().where(Client.salon_id == salon_id)
    records = Record.select().where(Record.salon_id == salon_id)
    return {
        "counts": {"service_categories": ServiceCategory.select().where(ServiceCategory.salon_id == salon_id).count(),
                   "services": Service.select().where(Service.salon_id == salon_id).count(),
                   "staff": Staff.select().where(Staff.salon_id == salon_id).count(),
                   "clients": clients.count(), "records": records.count()},
        "checksums": {
            "clients": checksum((c.yclients_id, c.name, c.phone) for c in clients),
            "records": checksum((r.yclients_id, r.staff_id, r.client_id, r.datetime.isoformat()) for r in records),
            "services": checksum((s.yclients_id, s.category_id, s.title)
                                 for s in Service.select().where(Service.salon_id == salon_id)),
        },
    }
