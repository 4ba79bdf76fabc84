"""Record a YCLIENTS-confirmed install from the marketplace redirect, branch by branch, in one transaction.

Only branches the install check confirmed reach this module (S-3). What happens to each depends on
our row and on what YCLIENTS said:
- new branch, or a reinstall (ours `uninstalled`/`frozen`, or ours `active` while YCLIENTS says
  `pending` again): onboarding starts over in `pending_whatsapp`, with this installer and a new
  session generation (older sessions end);
- onboarding in progress, same installer: re-entry, nothing changes (a revisit on the timeline);
- onboarding in progress, another installer: take-over (installer replaced, generation bumped);
- active salon: a revisit; the state and the stored installer are never touched.
A branch that belongs to another installer is taken over (or revisited) only when it is the branch
the owner pressed the button in (the one the signed `salon_name` is about) AND YCLIENTS gave its
company title, which matched, or it is being reinstalled; otherwise it is left out of this session.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from peewee import PostgresqlDatabase

from models import prepared
from models import salon as s
from models import session_generation
from models.db import utcnow
from models.install_check import INSTALLING
from models.outbound import PENDING, OutboundMessage
from models.salon import Salon
from models.timeline import record
from web.marketplace.validation import Installer

IN_PROGRESS = (s.PENDING_WHATSAPP, s.WHATSAPP_CONNECTED, s.ACTIVATING)
REINSTALL_FROM = (s.UNINSTALLED, s.FROZEN)


@dataclass(frozen=True)
class Registered:
    salon_id: int
    title: str
    previous_state: str | None
    state: str
    restarted: bool  # onboarding starts over: clean live state, (re)start the WhatsApp session
    generation: int
    bumped: bool  # the session generation moved: older sessions of this salon ended

    @property
    def needs_session(self) -> bool:
        """Whether the WhatsApp session must be (re)started or ensured for this branch."""
        return self.state == s.PENDING_WHATSAPP


def default_title(salon_id: int) -> str:
    return f"Салон {salon_id}"


def register(database, branches: list[dict], who: Installer) -> list[Registered]:
    """Apply every confirmed branch ({"salon_id", "status", "title"}) and write the timeline, in one
    transaction; branches that are left out are not in the result. The caller enqueues after it."""
    group = uuid.uuid4().hex if len(branches) > 1 else ""
    results: list[Registered] = []
    with database.atomic():
        for index, branch in enumerate(branches):
            result = _one(database, branch, who, first=index == 0, group=group,
                          signed_name=who.salon_name if index == 0 else "", branches=len(branches))
            if result is not None:
                results.append(result)
    return results


def _one(database, branch: dict, who: Installer, *, first: bool, group: str, signed_name: str,
         branches: int) -> Registered | None:
    salon_id = int(branch["salon_id"])
    yclients_status = branch.get("status")
    title_confirmed = bool(branch.get("title"))
    common = {"actor": "owner", "installer_id": who.user_id, "install_group": group or None,
              "branches": branches, "yclients_status": yclients_status}
    # A new branch (the usual case) is one statement: the insert, which does nothing when the row exists.
    # Only then is the row read (and locked on PostgreSQL) for the cases below.
    new = _new_salon(branch, who, group, signed_name)
    if prepared.insert(Salon, new.__data__, ignore_conflict=True):
        record(salon_id, "registration_started", previous_state=None, state=new.state, **common)
        return _result(new, None, restarted=True, bumped=False)
    salon = Salon.select().where(Salon.salon_id == salon_id).for_update().first() \
        if _supports_for_update(database) else Salon.get_or_none(Salon.salon_id == salon_id)

    if salon is None:  # deleted since the insert found it: insert it now (errors surface as before)
        salon = new
        salon.save(force_insert=True)
        record(salon_id, "registration_started", previous_state=None, state=salon.state, **common)
        return _result(salon, None, restarted=True, bumped=False)

    previous = salon.state
    foreign = salon.installer_id is not None and salon.installer_id != who.user_id  # no id: never the same user
    reinstall = previous in REINSTALL_FROM or (previous == s.ACTIVE and yclients_status == INSTALLING)
    if foreign and not (first and (title_confirmed or reinstall)):
        return None  # another installer's branch, not vouched for: not part of this session

    if reinstall or previous == s.ACTIVATION_FAILED:
        if branch.get("title"):
            salon.title = branch["title"]
        elif signed_name and (not salon.title or salon.title == default_title(salon_id)):
            salon.title = signed_name
        bumped = reinstall or foreign
        previous_installer = salon.installer_id
        _set_installer(salon, who, group)
        salon.state = s.PENDING_WHATSAPP
        salon.registered_at = utcnow()
        if reinstall:
            _archive_welcome(salon)
        if bumped:
            session_generation.bump(salon)
        salon.save()
        record(salon_id, "registration_started", previous_state=previous, state=salon.state,
               reinstall=reinstall, previous_installer_id=previous_installer if foreign else None, **common)
        return _result(salon, previous, restarted=True, bumped=bumped)

    if previous in IN_PROGRESS and foreign:
        previous_installer = salon.installer_id
        _set_installer(salon, who, "")
        session_generation.bump(salon)
        salon.save()
        record(salon_id, "onboarding_taken_over", previous_state=previous, state=previous,
               previous_installer_id=previous_installer, **common)
        return _result(salon, previous, restarted=False, bumped=True)

    # Re-entry into an onboarding of one's own, or a revisit of an active salon (by anyone YCLIENTS and
    # the title vouch for): the stored installer and the state stay as they are.
    if salon.installer_id is None and who.user_id is not None and previous in IN_PROGRESS:
        _set_installer(salon, who, "")
        salon.save()
    record(salon_id, "registration_revisited", previous_state=previous, state=previous,
           stored_installer_id=salon.installer_id, **common)
    return _result(salon, previous, restarted=False, bumped=False)


def _new_salon(branch: dict, who: Installer, group: str, signed_name: str) -> Salon:
    salon_id = int(branch["salon_id"])
    salon = Salon(salon_id=salon_id, title=branch.get("title") or signed_name or default_title(salon_id),
                  state=s.PENDING_WHATSAPP)
    _set_installer(salon, who, group)
    return salon


def _archive_welcome(salon: Salon) -> None:
    """The welcome is once per install: a reinstall moves the last install's (finished) welcome aside, so the
    new install's activation sends one again under the same unique key. A pending one is simply reused."""
    key = f"welcome:{salon.salon_id}"
    (OutboundMessage
     .update(key=f"welcome-previous:{salon.salon_id}:{int(salon.session_generation or 0)}:{uuid.uuid4().hex[:8]}",
             updated_at=utcnow())
     .where((OutboundMessage.key == key) & (OutboundMessage.status != PENDING))
     .execute())
    salon.welcome_sent_at = None


def _result(salon: Salon, previous: str | None, *, restarted: bool, bumped: bool) -> Registered:
    return Registered(salon.salon_id, salon.title, previous, salon.state, restarted,
                      int(salon.session_generation or 0), bumped)


def _set_installer(salon: Salon, who: Installer, group: str) -> None:
    salon.installer_id = who.user_id
    salon.installer_name = who.name
    salon.installer_phone = who.phone
    salon.installer_email = who.email
    if group:
        salon.install_group = group


def _supports_for_update(database) -> bool:
    # SQLite serialises writers already; PostgreSQL needs the row lock against a concurrent redirect.

    return isinstance(getattr(database, "obj", database), PostgresqlDatabase)
