"""Record an install from the marketplace redirect: upsert every branch, never downgrade an active one."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from models import salon as s
from models.db import utcnow
from models.salon import Salon
from models.timeline import record
from web.marketplace.validation import Installer

# Back to the start of onboarding: a new install, a re-install, or a retry after a failed activation.
RESTART_FROM = (s.PENDING_WHATSAPP, s.UNINSTALLED, s.FROZEN, s.ACTIVATION_FAILED)
# Onboarding under way or finished: leave the state alone (the page shows where it stands).
KEEP = (s.WHATSAPP_CONNECTED, s.ACTIVATING, s.ACTIVE)


@dataclass(frozen=True)
class Registered:
    salon_id: int
    title: str
    previous_state: str | None
    state: str

    @property
    def needs_session(self) -> bool:
        """Whether the WhatsApp session must be (re)started for this branch."""
        return self.state == s.PENDING_WHATSAPP


def default_title(salon_id: int) -> str:
    return f"Салон {salon_id}"


def register(database, salon_ids: list[int], who: Installer) -> list[Registered]:
    """Upsert the salons and write their timeline in one transaction; the caller enqueues after it."""
    group = uuid.uuid4().hex if len(salon_ids) > 1 else ""
    results: list[Registered] = []
    with database.atomic():
        for index, salon_id in enumerate(salon_ids):
            salon = Salon.select().where(Salon.salon_id == salon_id).for_update().first() \
                if _supports_for_update(database) else Salon.get_or_none(Salon.salon_id == salon_id)
            # user_data carries one salon_name: the branch the owner pressed the button in comes first.
            name = who.salon_name if index == 0 else ""
            if salon is None:
                salon = Salon(salon_id=salon_id, title=name or default_title(salon_id), state=s.PENDING_WHATSAPP)
                previous = None
                _set_installer(salon, who, group)
                salon.save(force_insert=True)
            else:
                previous = salon.state
                if name and (not salon.title or salon.title == default_title(salon_id)):
                    salon.title = name
                _set_installer(salon, who, group)
                if previous not in KEEP:
                    salon.state = s.PENDING_WHATSAPP
                    salon.registered_at = utcnow()
                salon.save()
            kind = "registration_started" if salon.state == s.PENDING_WHATSAPP else "registration_revisited"
            record(salon_id, kind, actor="owner", previous_state=previous, state=salon.state,
                   installer_id=who.user_id, install_group=group or None, branches=len(salon_ids))
            results.append(Registered(salon_id, salon.title, previous, salon.state))
    return results


def _set_installer(salon: Salon, who: Installer, group: str) -> None:
    salon.installer_id = who.user_id
    salon.installer_name = who.name
    salon.installer_phone = who.phone
    salon.installer_email = who.email
    if group:
        salon.install_group = group


def _supports_for_update(database) -> bool:
    # SQLite serialises writers already; PostgreSQL needs the row lock against a concurrent redirect.
    from peewee import PostgresqlDatabase

    return isinstance(getattr(database, "obj", database), PostgresqlDatabase)
