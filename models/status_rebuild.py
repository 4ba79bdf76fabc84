"""Recompute a salon's live snapshot data from the database when Redis lost it (restart, eviction, expiry)."""
from __future__ import annotations

from typing import Any

from models import salon as s
from models.db import database
from models.outbound import FAILED as OUTBOUND_FAILED
from models.outbound import OutboundMessage
from models.salon import Salon
from models.sync_progress import overall_percent
from models.sync_run import DONE, FAILED, RUNNING, SyncRun

_CONNECTED_STATES = (s.WHATSAPP_CONNECTED, s.ACTIVATING, s.ACTIVE, s.ACTIVATION_FAILED)


def _mask(phone: str) -> str:
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    return f"{digits[:4]}***{digits[-2:]}" if len(digits) >= 7 else ""


def _sync_slot(run: SyncRun | None) -> dict | None:
    if run is None:
        return None
    checkpoints = run.checkpoints or {}
    entity = run.entity or next(iter(checkpoints), "")
    point = checkpoints.get(entity, {}) if isinstance(checkpoints.get(entity), dict) else {}
    status = run.status if run.status in (RUNNING, DONE, FAILED) else RUNNING
    slot = {"status": status, "entity": entity, "done": int(point.get("done", 0) or 0),
            "total": int(point.get("total", 0) or 0), "percent": overall_percent(checkpoints)}
    if run.error:
        slot["message"] = run.error[:500]
    return slot


def rebuild_snapshot(salon_id: int) -> dict[str, Any] | None:
    """The snapshot `data` for `salon_id` as the database knows it, or None for an unknown salon.

    The QR and pairing code are short-lived secrets that only ever live in Redis: they come back
    as None (the bridge publishes fresh ones).
    """
    opened = database.is_closed()
    if opened:
        database.connect()
    try:
        salon = Salon.get_or_none(Salon.salon_id == int(salon_id))
        if salon is None:
            return None
        data: dict[str, Any] = {"state": salon.state, "qr": None, "pairing_code": None, "whatsapp": None,
                                "activation": None, "sync": None, "welcome": None, "complete": None, "error": None}
        if salon.whatsapp_state == s.WA_CONNECTED or salon.state in _CONNECTED_STATES:
            data["whatsapp"] = {"phone": _mask(salon.whatsapp_phone), "state": salon.whatsapp_state}
        if salon.state == s.ACTIVE or salon.activated_at is not None:
            data["activation"] = {"status": "done"}
        elif salon.state == s.ACTIVATING:
            data["activation"] = {"status": "started"}
        elif salon.state == s.ACTIVATION_FAILED:
            data["activation"] = {"status": "failed", "message": (salon.activation_error or "")[:500]}
        run = (SyncRun.select().where(SyncRun.salon_id == salon.salon_id)
               .order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).first())
        data["sync"] = _sync_slot(run)
        if salon.welcome_sent_at is not None:
            data["welcome"] = {"status": "sent"}
        else:
            welcome = OutboundMessage.get_or_none(OutboundMessage.key == f"welcome:{salon.salon_id}")
            if welcome is not None and welcome.status == OUTBOUND_FAILED:
                data["welcome"] = {"status": "failed"}
        if (salon.state == s.ACTIVE and data["welcome"] is not None
                and data["sync"] is not None and data["sync"]["status"] == DONE):
            data["complete"] = {}
        return data
    finally:
        if opened:
            database.close()
