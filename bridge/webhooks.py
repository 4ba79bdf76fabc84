"""WAHA webhooks: HMAC-SHA512 verification in constant time, event-id dedup in Redis, normalisation."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from bridge.naming import salon_id_of
from bridge.phone import phone_of_jid
from workers import json_limits

DEDUP_PREFIX = "aiadmin:wa:evt:"
DEDUP_TTL = 24 * 3600  # WAHA retries for minutes at most; a day is ample
MAX_BODY_BYTES = 1024 * 1024  # the relay's MAX_CONTENT_LENGTH; a text message is a few KiB
# Freshness of the signed envelope `timestamp` (ms). WAHA retries a delivery for ~30 s (2 s x 15, docs/bridge.md),
# so an older event is a replay; it must be refused long before its dedup key (DEDUP_TTL) expires, or a
# captured body could be applied again a day later. A little future skew is tolerated between hosts' clocks.
MAX_AGE_SECONDS = 600
MAX_FUTURE_SECONDS = 120


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()


def verify_signature(secret: str, body: bytes, signature: str | None) -> bool:
    """`X-Webhook-Hmac` must be the hex HMAC-SHA512 of the raw body under our secret."""
    if not secret or not signature:
        return False
    # As bytes: compare_digest refuses non-ASCII str (a junk header would be a 500, not a 401).
    return hmac.compare_digest(sign(secret, body).encode(), signature.strip().lower().encode())


class Deduper:
    """Claims an event id once (SET NX EX). A claim is released if processing fails, so WAHA's retry
    of the same event is applied instead of being dropped."""

    def __init__(self, redis_client, ttl: int = DEDUP_TTL):
        self.redis = redis_client
        self.ttl = ttl

    def claim(self, event_id: str) -> bool:
        return bool(self.redis.set(DEDUP_PREFIX + event_id, "1", nx=True, ex=self.ttl))

    def release(self, event_id: str) -> None:
        self.redis.delete(DEDUP_PREFIX + event_id)


@dataclass(frozen=True)
class WebhookEvent:
    event_id: str
    event: str  # session.status | message | ...
    session: str
    salon_id: int | None
    payload: dict[str, Any] = field(default_factory=dict)
    me_phone: str = ""
    timestamp: float | None = None  # seconds, from the envelope's signed `timestamp` (ms)

    def stale(self, now: float) -> bool:
        """No timestamp, older than MAX_AGE_SECONDS or further ahead than MAX_FUTURE_SECONDS."""
        return self.timestamp is None or not (now - MAX_AGE_SECONDS <= self.timestamp <= now + MAX_FUTURE_SECONDS)

    @property
    def status(self) -> str:
        return str(self.payload.get("status", ""))


class BadWebhook(ValueError):
    pass


def parse(body: bytes) -> WebhookEvent:
    try:
        data = json_limits.loads(body, max_bytes=MAX_BODY_BYTES)
    except json_limits.BadJson as exc:
        raise BadWebhook(exc.message) from None
    if not isinstance(data, dict) or not data.get("event") or not data.get("session"):
        raise BadWebhook("not a WAHA webhook envelope")
    session = str(data["session"])
    metadata = data.get("metadata") or {}
    salon_id = salon_id_of(session)
    if salon_id is None and isinstance(metadata, dict) and str(metadata.get("salon.id", "")).isdigit():
        salon_id = int(metadata["salon.id"])
    me = data.get("me") or {}
    payload = data.get("payload") or {}
    # Without an id (old WAHA versions) the body hash is the next best dedup key.
    event_id = str(data.get("id") or "sha256:" + hashlib.sha256(body).hexdigest())
    return WebhookEvent(event_id=event_id, event=str(data["event"]), session=session, salon_id=salon_id,
                        payload=payload if isinstance(payload, dict) else {},
                        me_phone=phone_of_jid(me.get("id")) if isinstance(me, dict) else "",
                        timestamp=_seconds(data.get("timestamp")))


def _seconds(value) -> float | None:
    """The envelope's `timestamp` (epoch milliseconds) in seconds; None if absent or not a sane number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    seconds = value / 1000.0
    return seconds if 0 < seconds < 1e11 else None  # also drops NaN and infinities


def inbound_message(event: WebhookEvent) -> dict[str, Any] | None:
    """The assistant's view of an inbound `message` event; None for our own messages (fromMe)."""
    p = event.payload
    if p.get("fromMe"):
        return None
    sender = str(p.get("from") or "")
    return {
        "event_id": event.event_id,
        "salon_id": event.salon_id,
        "session": event.session,
        "message_id": str(p.get("id") or ""),
        "chat_id": sender,  # reply to this id as is (a LID must stay @lid)
        "from_phone": phone_of_jid(sender) if sender.endswith(("@c.us", "@s.whatsapp.net")) else "",
        "text": str(p.get("body") or ""),
        "has_media": bool(p.get("hasMedia")),
        "timestamp": p.get("timestamp"),
    }
