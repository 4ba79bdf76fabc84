"""Is the WhatsApp gateway reachable? The bridge asks it (an authenticated GET) every PROBE_EVERY seconds
and leaves the answer in Redis, so the detailed health answer can tell without calling WAHA on a request."""
from __future__ import annotations

import json
import logging
import time

logger = logging.getLogger("aiadmin.bridge.probe")

KEY = "aiadmin:gateway:probe"
PROBE_EVERY = 30.0
STALE_AFTER = 120.0  # no probe for this long: "unknown" (the bridge itself is down), an alert


def probe(waha, redis_client, clock=time.time) -> dict:
    started = time.perf_counter()
    try:
        waha.list_sessions()
        result = {"ok": True, "error": None}
    except Exception as exc:  # the answer is the point: any failure is "unreachable"
        result = {"ok": False, "error": type(exc).__name__}
    result.update(at=clock(), latency_ms=round((time.perf_counter() - started) * 1000, 1))
    redis_client.set(KEY, json.dumps(result), ex=int(STALE_AFTER * 5))
    if not result["ok"]:
        logger.warning("gateway unreachable: %s", result["error"])
    return result


class Prober:
    """A callable for the bridge's heartbeat thread: probes at most once per PROBE_EVERY seconds."""

    def __init__(self, waha, redis_client, every: float = PROBE_EVERY, clock=time.time):
        self.waha, self.redis, self.every, self.clock = waha, redis_client, every, clock
        self._last = None

    def __call__(self) -> None:
        now = self.clock()
        if self._last is None or now - self._last >= self.every:
            self._last = now
            probe(self.waha, self.redis, self.clock)


def read(redis_client, now: float | None = None) -> dict:
    """{"status": reachable | unreachable | unknown, "checked_seconds_ago", "latency_ms", "error"}."""
    now = time.time() if now is None else now
    raw = redis_client.get(KEY)
    try:
        last = json.loads(raw) if raw else None
    except ValueError:
        last = None
    if not last:
        return {"status": "unknown", "checked_seconds_ago": None, "latency_ms": None, "error": None}
    age = round(now - float(last.get("at") or 0), 1)
    status = "unknown" if age > STALE_AFTER else "reachable" if last.get("ok") else "unreachable"
    return {"status": status, "checked_seconds_ago": age, "latency_ms": last.get("latency_ms"),
            "error": last.get("error")}
