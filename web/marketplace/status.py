"""The snapshot the page starts from (websocket and polling), with when each slot was last written."""
from __future__ import annotations

import json

from models import events
from models.live import snapshot_key


def snapshot(live, redis_client, salon_id: int) -> dict:
    """`LiveStatus.snapshot` plus `slots`: {slot: {seq, ts}} so the page can order an old error after a newer QR."""
    snap = live.snapshot(salon_id)
    slots = {}
    if snap["seq"]:
        for slot, value in zip(events.SNAPSHOT_SLOTS, redis_client.hmget(snapshot_key(salon_id), *events.SNAPSHOT_SLOTS)):
            if value:
                try:
                    stored = json.loads(value)
                    slots[slot] = {"seq": int(stored["seq"]), "ts": float(stored["ts"])}
                except (ValueError, KeyError, TypeError):
                    continue
    snap["slots"] = slots
    return snap
