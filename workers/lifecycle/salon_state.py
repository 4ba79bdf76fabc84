"""Uninstall, freeze and onboarding expiry: gateway first, then one locked state transition.

The gateway call comes before the transition so a gateway error leaves the salon untouched and the
actor retries (never a silent swallow). The transition is state-based, hence idempotent: a repeated
uninstall finds the salon `uninstalled` and is a no-op, while an uninstall after a re-install finds
it `pending_whatsapp` again and takes effect (I-30).
"""
from __future__ import annotations

import datetime

from bridge.errors import SessionNotFound
from bridge.naming import session_name
from models import events
from models import salon as s
from models import session_generation
from models.db import utcnow
from models.salon import Salon
from models.timeline import TimelineEvent, record
from models.webhook_delivery import APPLIED, IGNORED, NOOP, SUPERSEDED
from workers.lifecycle.effects import Effect, finish, locked_salon, publish, superseded
from workers.lifecycle.locking import salon_lock

UNINSTALLED_MESSAGE = "Приложение отключено в YCLIENTS. Чтобы подключить его снова, откройте маркетплейс."
FROZEN_MESSAGE = "Подписка приостановлена в YCLIENTS. WhatsApp отключён до продления."
EXPIRED_MESSAGE = ("Время подключения WhatsApp истекло. Откройте подключение заново из маркетплейса YCLIENTS.")

ONBOARDING_MAX_AGE = datetime.timedelta(hours=24)


def _precheck(salon: Salon | None, received_at, target: str) -> Effect | None:
    if salon is None:
        return Effect(IGNORED, "unknown salon")
    if superseded(salon, received_at):
        return Effect(SUPERSEDED, "the salon was installed again after this event")
    if salon.state == target:
        return Effect(NOOP, f"already {target}")
    if target == s.FROZEN and salon.state == s.UNINSTALLED:
        return Effect(IGNORED, "an uninstalled salon is not frozen")
    return None


def _transition(db, salon_id: int, target: str, *, received_at, delivery, source: str, changes: dict) -> Effect:
    with salon_lock(db, salon_id):
        salon = locked_salon(db, salon_id)
        effect = _precheck(salon, received_at, target)
        if effect is None:
            previous = salon.state
            salon.state = target
            for name, value in changes.items():
                setattr(salon, name, value)
            if target == s.UNINSTALLED:
                session_generation.bump(salon)  # every onboarding session of this salon ends
            salon.save()
            record(salon_id, target, actor=source, previous_state=previous,
                   delivery_id=delivery.id if delivery is not None else None)
            effect = Effect(APPLIED, f"{previous} -> {target}")
        finish(delivery, effect)
    return effect


def uninstall(db, salon_id: int, *, waha, live=None, source: str = "yclients", received_at=None,
              delivery=None) -> Effect:
    """Delete the gateway session (its credentials go with it), clear the api_key, state `uninstalled`.
    Business data is kept (docs/webhooks.md); `purge_salon` removes it on request."""
    effect = _precheck(Salon.get_or_none(Salon.salon_id == salon_id), received_at, s.UNINSTALLED)
    if effect is None:
        waha.delete_session(session_name(salon_id))  # idempotent; other errors raise -> retry
        effect = _transition(db, salon_id, s.UNINSTALLED, received_at=received_at, delivery=delivery,
                             source=source, changes={"api_key": None, "whatsapp_state": s.WA_STOPPED})
    else:
        with salon_lock(db, salon_id):
            finish(delivery, effect)
    if effect.outcome == APPLIED:
        publish(live, salon_id, events.ERROR, {"code": "uninstalled", "message": UNINSTALLED_MESSAGE},
                state=s.UNINSTALLED, keep=False)
        if getattr(live, "redis", None) is not None:
            session_generation.announce(live.redis, salon_id, session_generation.current([salon_id]).get(salon_id, 0))
    return effect


def freeze(db, salon_id: int, *, waha, live=None, source: str = "yclients", received_at=None,
           delivery=None) -> Effect:
    """Stop the gateway session but keep its credentials (a renewal reconnects without a QR) and
    the api_key; state `frozen`, which the clock skips, so scheduled sync pauses."""
    effect = _precheck(Salon.get_or_none(Salon.salon_id == salon_id), received_at, s.FROZEN)
    if effect is None:
        try:
            waha.stop_session(session_name(salon_id))
        except SessionNotFound:
            pass  # nothing running to stop
        effect = _transition(db, salon_id, s.FROZEN, received_at=received_at, delivery=delivery,
                             source=source, changes={"whatsapp_state": s.WA_STOPPED})
    else:
        with salon_lock(db, salon_id):
            finish(delivery, effect)
    if effect.outcome == APPLIED:
        publish(live, salon_id, events.ERROR, {"code": "frozen", "message": FROZEN_MESSAGE},
                state=s.FROZEN, keep=False)
    return effect


def abandoned_onboardings(now: datetime.datetime | None = None,
                          max_age: datetime.timedelta = ONBOARDING_MAX_AGE) -> list[int]:
    """Salons waiting for WhatsApp longer than `max_age` since their (re)install, not yet expired."""
    cutoff = (now or utcnow()) - max_age
    candidates = (Salon.select(Salon.salon_id, Salon.registered_at)
                  .where(Salon.state == s.PENDING_WHATSAPP, Salon.registered_at < cutoff))
    return [c.salon_id for c in candidates if not _expired_since(c.salon_id, c.registered_at)]


def _expired_since(salon_id: int, registered_at) -> bool:
    return (TimelineEvent.select().where(TimelineEvent.salon_id == salon_id,
                                         TimelineEvent.kind == "onboarding_expired",
                                         TimelineEvent.created_at >= registered_at).exists())


def expire_onboarding(db, salon_id: int, *, waha, live=None, now: datetime.datetime | None = None,
                      max_age: datetime.timedelta = ONBOARDING_MAX_AGE) -> Effect:
    """Stop the linking session of an onboarding abandoned for `max_age`; once per (re)install."""
    now = now or utcnow()

    def still_abandoned(salon):
        return (salon is not None and salon.state == s.PENDING_WHATSAPP and salon.registered_at < now - max_age
                and not _expired_since(salon_id, salon.registered_at))

    if not still_abandoned(Salon.get_or_none(Salon.salon_id == salon_id)):
        return Effect(NOOP, "not an abandoned onboarding")
    try:
        waha.stop_session(session_name(salon_id))
    except SessionNotFound:
        pass
    with salon_lock(db, salon_id):
        salon = locked_salon(db, salon_id)
        if not still_abandoned(salon):
            return Effect(NOOP, "not an abandoned onboarding")
        salon.whatsapp_state = s.WA_STOPPED
        salon.save()
        record(salon_id, "onboarding_expired", actor="clock", registered_at=str(salon.registered_at))
    publish(live, salon_id, events.ERROR, {"code": "onboarding_expired", "message": EXPIRED_MESSAGE},
            state=s.PENDING_WHATSAPP)
    return Effect(APPLIED, "onboarding expired")
