"""Partner-side disconnect: uninstall the application in YCLIENTS, then apply the local uninstall.

YCLIENTS first (reference §5.1 #8, §8.3): if it refuses, nothing changes here, so YCLIENTS and we never
disagree about whether the app is installed. Idempotent: YCLIENTS answers 404 «Приложение не установлено»
for an app already uninstalled (by an earlier run, or by the owner), which counts as done, and the local
uninstall is state-based (workers/lifecycle/salon_state.py). Both steps are on the salon's timeline.
"""
from __future__ import annotations

import logging

from models.salon import Salon
from models.timeline import record
from models.webhook_delivery import IGNORED
from workers.lifecycle.effects import Effect
from workers.lifecycle.salon_state import uninstall

logger = logging.getLogger("aiadmin.lifecycle")


def disconnect(db, salon_id: int, *, api, waha, live=None, source: str = "support") -> tuple[bool, Effect]:
    """Returns (uninstalled in YCLIENTS by this call, the local uninstall's effect). YCLIENTS errors raise."""
    if Salon.get_or_none(Salon.salon_id == salon_id) is None:
        return False, Effect(IGNORED, "unknown salon")
    removed = api.uninstall(salon_id)
    with db.atomic():
        record(salon_id, "yclients_uninstalled" if removed else "yclients_already_uninstalled", actor=source)
    logger.info("salon %s: partner uninstall in YCLIENTS (%s)", salon_id,
                "done" if removed else "already not installed")
    return removed, uninstall(db, salon_id, waha=waha, live=live, source=source)
