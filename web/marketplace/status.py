"""The snapshot the page starts from (websocket and polling), with when each slot was last written."""
from __future__ import annotations

import json
import logging
import time

from models import events
from models.live import snapshot_key

logger = logging.getLogger("aiadmin.web.status")

BASE = "base"  # snapshot hash field: the database's view has been merged into this snapshot
TYPE_OF_SLOT = {slot: event_type for event_type, slot in events.SLOT_OF.items()}


def _fill_from_database(live, redis_client, salon_id: int, snap: dict) -> None:
    """A snapshot re-created after Redis lost the old one (restart) holds only what was published since:
    fill its empty slots from the database once, so the page shows the true state (and store them)."""
    key = snapshot_key(salon_id)
    if getattr(live, "rebuild", None) is None or redis_client.hexists(key, BASE):
        return
    try:
        rebuilt = live.rebuild(int(salon_id)) or {}
    except Exception as exc:  # the database is down: Redis' view is still better than an error
        logger.warning("snapshot of salon %s not merged with the database: %s", salon_id, exc.__class__.__name__)
        return
    data, now = snap["data"], time.time()
    for slot in events.SNAPSHOT_SLOTS:
        value = rebuilt.get(slot)
        if data.get(slot) is None and value is not None:
            data[slot] = value
            redis_client.hsetnx(key, slot, events.dumps({"type": TYPE_OF_SLOT[slot], "seq": 0, "ts": now,
                                                         "salon_id": int(salon_id), "data": value}))
    if not data.get("state") and rebuilt.get("state"):
        data["state"] = rebuilt["state"]
        redis_client.hsetnx(key, "state", rebuilt["state"])
    redis_client.hsetnx(key, BASE, 1)


def snapshot(live, redis_client, salon_id: int) -> dict:
    """`LiveStatus.snapshot` plus `slots`: {slot: {seq, ts}} so the page can order an old error after a newer QR."""
    snap = live.snapshot(salon_id)
    if snap["seq"]:  # seq 0: nothing in Redis, the whole snapshot was already rebuilt from the database
        _fill_from_database(live, redis_client, salon_id, snap)
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
