"""WhatsApp linked: move the salon on to `whatsapp_connected` and enqueue the activation (never the browser)."""
from __future__ import annotations

import logging

from models import salon as S
from models.db import utcnow
from models.salon import Salon
from models.timeline import record

logger = logging.getLogger("aiadmin.onboarding")

# States from which a connected WhatsApp leads to (another) activation attempt.
ACTIVATION_PENDING = (S.PENDING_WHATSAPP, S.WHATSAPP_CONNECTED, S.ACTIVATING, S.ACTIVATION_FAILED)


def on_whatsapp_connected(salon_id: int, deps) -> bool:
    """Returns True when an activation was enqueued. An active salon is left alone (idempotent)."""
    salon = Salon.get_or_none(Salon.salon_id == salon_id)
    if salon is None:
        logger.warning("connected event for unknown salon %s", salon_id)
        return False
    if salon.state not in ACTIVATION_PENDING:
        logger.info("salon %s is %s: connected event needs no activation", salon_id, salon.state)
        return False
    with deps.database.atomic():
        moved = (Salon.update(state=S.WHATSAPP_CONNECTED, updated_at=_now())
                 .where((Salon.salon_id == salon_id) & (Salon.state == S.PENDING_WHATSAPP)).execute())
        if moved:
            record(salon_id, "whatsapp_connected", "worker", phone_tail=salon.whatsapp_phone[-2:])
    if moved:
        deps.live.set_state(salon_id, S.WHATSAPP_CONNECTED)
    deps.jobs.activate_integration(salon_id)
    return True


def _now():
    return utcnow()
