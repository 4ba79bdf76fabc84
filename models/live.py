"""Live onboarding state in Redis: a snapshot per salon with a monotonically increasing seq, plus a channel.

Publishing is one Lua call: bump seq, store the latest event of its kind in the snapshot, publish.
A reader subscribes first, then reads the snapshot, then forwards events with a higher seq, so
nothing published in between is lost (contract 4.4).
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable

from models import events

PREFIX = "aiadmin:live:"
CHANNEL_PREFIX = "aiadmin:status:"
CHANNEL_PATTERN = CHANNEL_PREFIX + "*"
SNAPSHOT_TTL = 14 * 24 * 3600

_PUBLISH = """
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local message = ARGV[1] .. seq .. ARGV[2]
redis.call('HSET', KEYS[1], ARGV[3], message)
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'state', ARGV[4]) end
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('PUBLISH', KEYS[2], message)
return seq
"""

_SET_STATE = """
for i = 3, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('HSET', KEYS[1], 'state', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return seq
"""


def snapshot_key(salon_id: int) -> str:
    return f"{PREFIX}{int(salon_id)}"


def channel(salon_id: int) -> str:
    return f"{CHANNEL_PREFIX}{int(salon_id)}"


def salon_of_channel(name: str | bytes) -> int | None:
    if isinstance(name, bytes):
        name = name.decode()
    if not name.startswith(CHANNEL_PREFIX):
        return None
    try:
        return int(name[len(CHANNEL_PREFIX):])
    except ValueError:
        return None


class LiveStatus:
    """Publishes status events and serves snapshots. `rebuild` recomputes a lost snapshot from the DB."""

    def __init__(self, redis_client, rebuild: Callable[[int], dict[str, Any] | None] | None = None):
        self.redis = redis_client
        self.rebuild = rebuild
        self._publish = redis_client.register_script(_PUBLISH)
        self._set_state = redis_client.register_script(_SET_STATE)

    def publish(self, salon_id: int, event_type: str, data: dict[str, Any] | None = None,
                state: str | None = None) -> int:
        data = dict(data or {})
        events.validate(event_type, data)
        env = events.envelope(event_type, 0, int(salon_id), data)
        # Split the serialised envelope around seq so Lua can splice the number in without re-encoding.
        head = events.dumps({"type": event_type}) [:-1] + ',"seq":'
        tail = "," + events.dumps({"ts": env["ts"], "salon_id": env["salon_id"], "data": data})[1:]
        return int(self._publish(keys=[snapshot_key(salon_id), channel(salon_id)],
                                 args=[head, tail, events.SLOT_OF[event_type], state or "", SNAPSHOT_TTL]))

    def set_state(self, salon_id: int, state: str, *, clear: tuple[str, ...] = ()) -> int:
        """Set the snapshot's state (after dropping the `clear` slots, in the same call)."""
        script, keys, args = self.state_call(salon_id, state, clear=clear)
        return int(script(keys=keys, args=args))

    def state_call(self, salon_id: int, state: str, *, clear: tuple[str, ...] = ()) -> tuple:
        """`set_state`'s script call (script, keys, args), unsent: for a caller that sends it in one round trip
        with other commands (the redirect's reset, ahead of the session job: runtime.jobs)."""
        return self._set_state, [snapshot_key(salon_id)], [state, SNAPSHOT_TTL, *clear]

    def snapshot(self, salon_id: int) -> dict[str, Any]:
        """The snapshot envelope: `data` holds `state` and the latest event of each kind (None if none)."""
        raw = self.redis.hgetall(snapshot_key(salon_id))
        raw = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
               for k, v in raw.items()}
        if not raw and self.rebuild is not None:
            rebuilt = self.rebuild(int(salon_id))
            if rebuilt is not None:
                return events.envelope(events.SNAPSHOT, 0, int(salon_id), rebuilt)
        data: dict[str, Any] = {"state": raw.get("state")}
        for slot in events.SNAPSHOT_SLOTS:
            value = raw.get(slot)
            data[slot] = json.loads(value)["data"] if value else None
        return events.envelope(events.SNAPSHOT, int(raw.get("seq", 0)), int(salon_id), data, ts=time.time())

    def clear(self, salon_id: int, *slots: str) -> None:
        if slots:
            self.redis.hdel(snapshot_key(salon_id), *slots)
