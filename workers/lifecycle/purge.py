"""`aiadmin purge SALON_ID`: delete a salon's synced business data and its webhook deliveries.

Policy (docs/webhooks.md): uninstall keeps business data, so a re-install does not start from
nothing; purge removes it on request. Deleted: categories, services, staff, staff schedules, clients, records,
webhook deliveries (their bodies hold client data), sync runs and outbound messages (texts, phone
numbers). Kept: the salon row, with the installer's personal fields blanked, and its timeline (the
audit trail support needs, which holds no client data), plus a `purged` timeline event with the
counts. Any state may be purged (the CLI asks for confirmation); an `active` salon's next sync
refills its data, so purge normally follows an uninstall. The WhatsApp session is not touched here:
uninstall already deleted it with its credentials.
"""
from __future__ import annotations

from models.db import database as default_database
from models.outbound import OutboundMessage
from models.salon import Salon
from models.schedule import StaffSchedule
from models.sync_run import SyncRun
from models.synced import Client, Record, Service, ServiceCategory, Staff
from models.timeline import record
from models.webhook_delivery import WebhookDelivery

PURGED = (
    ("service_categories", ServiceCategory),
    ("services", Service),
    ("staff", Staff),
    ("staff_schedules", StaffSchedule),
    ("clients", Client),
    ("records", Record),
    ("webhook_deliveries", WebhookDelivery),
    ("sync_runs", SyncRun),
    ("outbound_messages", OutboundMessage),
)


class UnknownSalon(LookupError):
    pass


def purge_salon(salon_id: int, *, database=None, actor: str = "support") -> dict[str, int]:
    """Delete the salon's data in one transaction; returns the number of rows deleted per table."""
    db = database or default_database
    with db.atomic():
        salon = Salon.get_or_none(Salon.salon_id == salon_id)
        if salon is None:
            raise UnknownSalon(f"salon {salon_id} is not known")
        counts = {name: model.delete().where(model.salon_id == salon_id).execute() for name, model in PURGED}
        salon.installer_name = ""
        salon.installer_phone = ""
        salon.installer_email = ""
        salon.save()
        record(salon_id, "purged", actor=actor, counts=counts, state=salon.state)
    return counts
