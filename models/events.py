"""Typed status events (contract 4.4), serialised in one place."""
from __future__ import annotations

import json
import time
from typing import Any

SNAPSHOT = "snapshot"
QR = "qr"
PAIRING_CODE = "pairing_code"
WHATSAPP_CONNECTED = "whatsapp_connected"
ACTIVATION = "activation"
SYNC = "sync"
WELCOME = "welcome"
COMPLETE = "complete"
ERROR = "error"

EVENT_TYPES = (SNAPSHOT, QR, PAIRING_CODE, WHATSAPP_CONNECTED, ACTIVATION, SYNC, WELCOME, COMPLETE, ERROR)

# Which snapshot slot each event type updates (the snapshot keeps the latest of each kind).
SLOT_OF = {
    QR: "qr",
    PAIRING_CODE: "pairing_code",
    WHATSAPP_CONNECTED: "whatsapp",
    ACTIVATION: "activation",
    SYNC: "sync",
    WELCOME: "welcome",
    COMPLETE: "complete",
    ERROR: "error",
}
SNAPSHOT_SLOTS = ("qr", "pairing_code", "whatsapp", "activation", "sync", "welcome", "complete", "error")

# Required data keys per type; checked when publishing so a typo fails loudly in tests.
REQUIRED_KEYS = {
    QR: ("payload", "svg", "expires_in"),
    PAIRING_CODE: ("code", "expires_in"),
    WHATSAPP_CONNECTED: ("phone",),
    ACTIVATION: ("status",),
    SYNC: ("status", "entity", "done", "total"),
    WELCOME: ("status",),
    COMPLETE: (),
    ERROR: ("code", "message"),
}


# Optional keys any event may carry, with their types. Workers publish a `code` (a key of the message
# catalogue, web/marketplace/messages.py) and the numbers it needs; the web tier turns the code into the
# `message` in the reader's language and adds `support` where a person may be needed (docs/onboarding.md).
OPTIONAL_KEYS = {
    "code": str,
    "message": str,
    "retry_at": (int, float),  # epoch seconds of the next automatic attempt
    "attempt": int,  # the attempt that just failed (1-based) ...
    "max_attempts": int,  # ... out of this many automatic attempts
    "percent": int,  # sync: overall progress across every entity, 0..100, never goes back within a run
    "requests_left": int,  # sync: YCLIENTS requests still needed (absent while a size is unknown)
    "eta_s": int,  # sync: seconds left, estimated by the web tier from requests_left and the rate budget
    "support": str,
}


class EventError(ValueError):
    pass


def validate(event_type: str, data: dict[str, Any]) -> None:
    if event_type not in SLOT_OF:
        raise EventError(f"unknown status event type {event_type!r}")
    missing = [k for k in REQUIRED_KEYS[event_type] if k not in data]
    if missing:
        raise EventError(f"{event_type} event is missing {', '.join(missing)}")
    for key, kind in OPTIONAL_KEYS.items():
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, kind)):
            raise EventError(f"{event_type} event: {key} must be {kind}, not {type(value).__name__}")


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def envelope(event_type: str, seq: int, salon_id: int, data: dict[str, Any], ts: float | None = None) -> dict:
    return {"type": event_type, "seq": seq, "ts": time.time() if ts is None else ts, "salon_id": salon_id,
            "data": data}
