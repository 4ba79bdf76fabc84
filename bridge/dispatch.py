"""What the relay does with one verified WAHA webhook: dedup by event id, then route by event type."""
from __future__ import annotations

import json
import logging

from bridge import linking
from bridge.linking import LinkDeps
from bridge.webhooks import Deduper, WebhookEvent, inbound_message

logger = logging.getLogger("aiadmin.bridge")

# Inbound WhatsApp messages for the assistant (which lives outside this service): a Redis list of JSON
# objects, RPUSHed here, to be BLPOPed by the assistant. Capped so nobody consuming it cannot fill Redis.
INBOUND_QUEUE = "assistant.inbound"
INBOUND_QUEUE_KEY = "aiadmin:queue:" + INBOUND_QUEUE
INBOUND_QUEUE_MAX = 10_000


def handle_event(deps: LinkDeps, deduper: Deduper, event: WebhookEvent) -> str:
    """Apply `event` once. Returns `duplicate`, `ignored` or `applied`; raises if applying failed
    (the dedup claim is released so the gateway's retry is applied)."""
    if not deduper.claim(event.event_id):
        return "duplicate"
    try:
        outcome = _route(deps, event)
    except Exception:
        deduper.release(event.event_id)
        raise
    logger.info("webhook %s %s (%s) for salon %s: %s", event.event, event.status or "-", event.event_id,
                event.salon_id, outcome)
    return outcome


def _route(deps: LinkDeps, event: WebhookEvent) -> str:
    if event.salon_id is None:
        logger.info("webhook %s for foreign session %s ignored", event.event, event.session)
        return "ignored"
    if event.event == "session.status":
        linking.on_session_status(deps, event.salon_id, event.status, event.me_phone)
        return "applied"
    if event.event == "message":
        message = inbound_message(event)
        if message is None:
            return "ignored"  # our own message echoed back
        pipe = deps.redis.pipeline()
        pipe.rpush(INBOUND_QUEUE_KEY, json.dumps(message, ensure_ascii=False))
        pipe.ltrim(INBOUND_QUEUE_KEY, -INBOUND_QUEUE_MAX, -1)
        pipe.execute()
        return "applied"
    return "ignored"
