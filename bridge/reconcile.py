"""Periodic reconciliation: poll the gateway's session list and repair drift in Salon.whatsapp_state.

Webhooks get lost (a GOWS session can report WORKING while sending nothing, waha #1931), so the
gateway's own answer is the truth this job brings our rows back to.
"""
from __future__ import annotations

import logging

from bridge import linking
from bridge.linking import LinkDeps
from models import salon as S
from models.salon import Salon
from models.timeline import record
from runtime.gateway.naming import salon_id_of

logger = logging.getLogger("aiadmin.bridge")

# Our states that mean "we believe a session exists and is up or coming up".
_LIVE = (S.WA_CONNECTED, S.WA_STARTING, S.WA_AWAITING_LINK, S.WA_DISCONNECTED)


def reconcile(deps: LinkDeps) -> dict[str, int]:
    """Returns counts of what was repaired (for logs and tests)."""
    repaired = {"connected": 0, "logged_out": 0, "stopped": 0, "link_expired": 0, "awaiting_link": 0}
    seen: set[int] = set()
    for info in deps.waha.list_sessions():
        salon_id = salon_id_of(info.name)
        if salon_id is None and str(info.metadata.get("salon.id", "")).isdigit():
            salon_id = int(info.metadata["salon.id"])
        if salon_id is None:
            continue
        seen.add(salon_id)
        current = linking._wa_state(salon_id)
        if current is None:
            continue
        if info.status == "WORKING":
            if current != S.WA_CONNECTED and linking.mark_connected(deps, salon_id, info.me_phone):
                repaired["connected"] += 1
        elif info.status == "FAILED":
            if current in (S.WA_STARTING, S.WA_AWAITING_LINK):
                linking.on_failed(deps, salon_id, current)
                repaired["link_expired"] += 1
            elif current in (S.WA_CONNECTED, S.WA_DISCONNECTED):
                linking.mark_logged_out(deps, salon_id)
                repaired["logged_out"] += 1
        elif info.status == "STOPPED":
            if current in _LIVE:
                _stopped(deps, salon_id, current)
                repaired["stopped"] += 1
        elif info.status == "SCAN_QR_CODE" and current == S.WA_STARTING:
            linking._set_wa_state(salon_id, S.WA_AWAITING_LINK)
            repaired["awaiting_link"] += 1
    # Salons we think are up whose session the gateway does not have at all.
    for row in Salon.select(Salon.salon_id, Salon.whatsapp_state).where(Salon.whatsapp_state.in_(_LIVE)):
        if row.salon_id not in seen:
            _stopped(deps, row.salon_id, row.whatsapp_state)
            repaired["stopped"] += 1
    if any(repaired.values()):
        logger.info("reconciled WhatsApp sessions: %s", repaired)
    return repaired


def _stopped(deps: LinkDeps, salon_id: int, current: str) -> None:
    if current == S.WA_CONNECTED:
        linking.mark_logged_out(deps, salon_id, code="session_stopped")
    elif linking._set_wa_state(salon_id, S.WA_STOPPED):
        record(salon_id, "whatsapp_stopped", "bridge", source="reconcile")
