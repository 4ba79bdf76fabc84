"""What the page sees of a status event or snapshot: localised words, masked phones, only the current slots.

Workers publish codes and numbers; here each slot gets its `message` from the catalogue in the reader's
language, `support` where a person may be needed, and phones are masked. Once WhatsApp is linked the
QR and pairing code are dropped from the snapshot: they are stale and were most of its bytes.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from models import events
from web.marketplace import messages

CONNECTED_STATES = ("whatsapp_connected", "activating", "active", "activation_failed")
LINKING_SLOTS = ("qr", "pairing_code")


@dataclass(frozen=True)
class Reader:
    """Who reads: their language, the support contact to offer, the YCLIENTS budget (requests per second)."""
    lang: str = "ru"
    support: str = ""
    requests_per_s: float = 0.0

    @classmethod
    def of(cls, settings, lang: str) -> "Reader":
        windows = getattr(settings.yclients_rate_limit, "windows", ())
        rate = min((limit / window for limit, window in windows), default=0.0)
        return cls(lang, settings.support_contact or "", rate)


def mask_phone(phone) -> str:
    digits = "".join(ch for ch in str(phone or "") if ch.isdigit())
    if "*" in str(phone or ""):  # already masked (the snapshot rebuilt from the database)
        return str(phone) if str(phone).startswith("+") else f"+{phone}"
    return f"+{digits[:4]}***{digits[-2:]}" if len(digits) >= 7 else ""


def _code(event_type: str, data: dict) -> str | None:
    status = data.get("status")
    if event_type == events.WHATSAPP_CONNECTED:
        return "whatsapp_connected"
    if event_type == events.ACTIVATION:
        if status == "failed" and data.get("retry_at"):
            return "activation_retrying"
        return {"started": "activation_started", "done": "activation_done", "failed": "activation_failed"}.get(status)
    if event_type == events.SYNC:
        if status == "failed":
            return "sync_retrying" if data.get("retry_at") else "sync_failed"
        return {"running": "sync_running", "done": "sync_done"}.get(status)
    if event_type == events.WELCOME:
        return "welcome_sent" if status == "sent" else "welcome_failed"
    if event_type == events.COMPLETE:
        return "complete_syncing" if data.get("sync_running") else "complete"
    return None


def _percent(data: dict) -> int:
    if data.get("status") == "done":
        return 100
    if isinstance(data.get("percent"), int):
        return max(0, min(100, data["percent"]))
    return 0


def present(event_type: str, data: dict | None, salon_id: int, reader: Reader) -> dict | None:
    """A copy of one slot's data as the page should see it (None stays None)."""
    if data is None:
        return None
    data, lang, support = dict(data), reader.lang, reader.support
    if event_type == events.WHATSAPP_CONNECTED:
        data["phone"] = mask_phone(data.get("phone"))
    if event_type == events.SYNC:
        data["percent"] = _percent(data)
        data.pop("counts", None)  # per-table counts are for support (aiadmin status), not the page
        left = data.pop("requests_left", None)
        if isinstance(left, int) and reader.requests_per_s > 0 and data.get("status") == "running":
            data["eta_s"] = int(left / reader.requests_per_s)
    code = data.get("code") if data.get("code") in messages.STATUS else _code(event_type, data)
    if event_type == events.ERROR and lang == "ru" and data.get("message"):
        code = None  # the bridge's own Russian sentence may carry a number (seconds to wait): keep it
    if code:
        data["code"] = code
        params = {key: value for key, value in data.items() if isinstance(value, (int, float, str))}
        params.update(salon_id=salon_id)
        text = messages.status_text(code, lang, params)
        if event_type == events.SYNC and data.get("status") == "running" and isinstance(data.get("eta_s"), int):
            text += " " + messages.eta_text(data["eta_s"], lang)
        data["message"] = text
    if event_type == events.COMPLETE or (event_type == events.SYNC and data.get("status") == "done"):
        data["assistant"] = messages.status_text("complete", lang)  # the done screen: what the assistant does now
    failed = data.get("status") == "failed" or event_type == events.ERROR or (
        event_type == events.WELCOME and data.get("status") != "sent")
    if failed and support:
        data["support"] = support
    return data


def present_snapshot(snap: dict, reader: Reader) -> dict:
    """The snapshot envelope for the page: every slot presented, linking slots gone once WhatsApp is linked."""
    data = dict(snap.get("data") or {})
    salon_id = int(snap.get("salon_id") or 0)
    linked = data.get("whatsapp") is not None or data.get("state") in CONNECTED_STATES
    slots = dict(snap.get("slots") or {})
    complete, sync = data.get("complete"), data.get("sync")
    if complete and complete.get("sync_running") and sync and sync.get("status") == "done":
        data["complete"] = {**complete, "sync_running": False, "code": "complete"}  # the sync has finished since
    for slot in events.SNAPSHOT_SLOTS:
        if linked and slot in LINKING_SLOTS:
            data[slot] = None
        if data.get(slot) is None:
            slots.pop(slot, None)
            continue
        data[slot] = present(TYPE_OF_SLOT[slot], data[slot], salon_id, reader)
    return {**snap, "data": data, "slots": slots}


TYPE_OF_SLOT = {slot: event_type for event_type, slot in events.SLOT_OF.items()}


@functools.lru_cache(maxsize=1024)
def present_text(text: str, reader: Reader) -> str:
    """A serialised event from the channel, presented; cached because every socket of a salon sends the same."""
    try:
        env = json.loads(text)
    except ValueError:
        return text
    if not isinstance(env, dict) or env.get("type") not in events.SLOT_OF:
        return text
    env["data"] = present(env["type"], env.get("data") or {}, int(env.get("salon_id") or 0), reader)
    return events.dumps(env)
