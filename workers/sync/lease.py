"""A short Redis lease: one holder per name, freed quickly when its holder dies.

The owner is the Dramatiq message id. A message redelivered after its worker crashed has the same
id, so it takes its own lease back at once instead of waiting for the TTL; a different message (a
duplicate) sees the lease taken and steps aside, because the holder (or its redelivery) will finish.
A long holder refreshes the lease from a heartbeat thread; when the process dies, so does the thread,
and the lease lapses within `ttl`.
"""
from __future__ import annotations

import logging
import threading
import uuid

logger = logging.getLogger("aiadmin.lease")

PREFIX = "aiadmin:lease:"

_ACQUIRE = """
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Lease:
    def __init__(self, redis_client, name: str, owner: str | None = None, ttl: float = 30.0):
        self.redis = redis_client
        self.key = PREFIX + name
        self.owner = owner or uuid.uuid4().hex
        self.ttl_ms = int(ttl * 1000)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> bool:
        return bool(self.redis.eval(_ACQUIRE, 1, self.key, self.owner, self.ttl_ms))

    def refresh(self) -> bool:
        return bool(self.redis.eval(_REFRESH, 1, self.key, self.owner, self.ttl_ms))

    def release(self) -> None:
        self.stop_heartbeat()
        try:
            self.redis.eval(_RELEASE, 1, self.key, self.owner)
        except Exception:  # the lease lapses by itself; never hide the real outcome
            logger.warning("could not release lease %s", self.key, exc_info=True)

    def holder(self) -> str | None:
        value = self.redis.get(self.key)
        return value.decode() if isinstance(value, bytes) else value

    def start_heartbeat(self) -> None:
        interval = self.ttl_ms / 3000.0

        def beat():
            while not self._stop.wait(interval):
                try:
                    if not self.refresh():
                        logger.warning("lease %s was lost", self.key)
                        return
                except Exception:
                    logger.warning("lease %s refresh failed", self.key, exc_info=True)

        self._thread = threading.Thread(target=beat, name=f"lease-{self.key}", daemon=True)
        self._thread.start()

    def stop_heartbeat(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
