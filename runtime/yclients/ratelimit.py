"""One YCLIENTS request budget shared by every process, held over ANY sliding window (e.g. 5/s and 200/min).

A sliding-window log in a Redis sorted set: one Lua call drops entries older than the widest window,
counts the entries inside each window, and admits the request (adds an entry) only when every window
has room; otherwise it returns how long until the oldest blocking entry leaves its window. Callers
sleep for that long and ask again, so waiting for budget never raises and never burns a Dramatiq
retry (Dramatiq's own limiters raise; reference §1.7). Nothing is held between calls, so a crashed
worker leaks nothing: its entries simply age out of the window.
"""
from __future__ import annotations

import logging
import random
import time
import uuid
from typing import Callable

from runtime.settings import RateLimit

logger = logging.getLogger("aiadmin.yclients.ratelimit")

KEY_PREFIX = "aiadmin:ratelimit:"

# KEYS[1] the log; ARGV[1] now in ms ('' = the Redis server clock, shared by every machine),
# ARGV[2] a unique member, ARGV[3..] limit,window_ms pairs. Returns {0, now} when admitted,
# {wait_ms, now} otherwise.
_ACQUIRE = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local widest = 0
for i = 3, #ARGV, 2 do
  local w = tonumber(ARGV[i + 1])
  if w > widest then widest = w end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - widest)
local wait = 0
for i = 3, #ARGV, 2 do
  local limit = tonumber(ARGV[i])
  local w = tonumber(ARGV[i + 1])
  local count = redis.call('ZCOUNT', KEYS[1], '(' .. (now - w), '+inf')
  if count >= limit then
    local blocking = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - w), '+inf', 'WITHSCORES', 'LIMIT', count - limit, 1)
    local until_free = tonumber(blocking[2]) + w - now
    if until_free < 1 then until_free = 1 end
    if until_free > wait then wait = until_free end
  end
end
if wait > 0 then return {wait, now} end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], widest + 1000)
return {0, now}
"""


class RateLimitTimeout(Exception):
    """Waited longer than `max_wait` for budget: a transient error, the job may retry later."""


class SlidingWindowLimiter:
    """Blocking acquire over a shared budget. `clock_ms` is for tests; production uses Redis' clock."""

    def __init__(self, redis_client, budget: RateLimit, name: str = "yclients", *, max_wait: float = 120.0,
                 margin_ms: int = 100,
                 sleep: Callable[[float], None] = time.sleep, clock_ms: Callable[[], int] | None = None):
        self.redis = redis_client
        self.key = KEY_PREFIX + name
        self.windows = budget.windows
        # Each window is held a little longer than its nominal size: a request admitted here reaches
        # YCLIENTS a few ms later, and uneven delays could otherwise squeeze limit+1 into its window.
        self.margin_ms = margin_ms
        self.max_wait = max_wait
        self.sleep = sleep
        self.clock_ms = clock_ms
        self._script = redis_client.register_script(_ACQUIRE)
        self.waited = 0.0  # total seconds this limiter slept (for logs and tests)

    def try_acquire(self) -> float:
        """Admit one request now (returns 0.0) or return the seconds to wait before asking again."""
        args = ["" if self.clock_ms is None else int(self.clock_ms()), uuid.uuid4().hex]
        for limit, window in self.windows:
            args += [limit, int(window * 1000) + self.margin_ms]
        wait_ms, _now = self._script(keys=[self.key], args=args)
        return int(wait_ms) / 1000.0

    def acquire(self) -> None:
        """Block until admitted; raise RateLimitTimeout after `max_wait` seconds of waiting."""
        started = time.monotonic()
        waited = 0.0
        while True:
            wait = self.try_acquire()
            if wait <= 0:
                return
            if waited + wait > self.max_wait:
                raise RateLimitTimeout(f"no YCLIENTS budget within {self.max_wait:.0f}s")
            # A little jitter so processes woken together do not collide on the same millisecond.
            pause = wait + random.uniform(0, 0.02)
            self.sleep(pause)
            waited += pause
            self.waited += pause
            if time.monotonic() - started > self.max_wait:
                raise RateLimitTimeout(f"no YCLIENTS budget within {self.max_wait:.0f}s")


class NoLimiter:
    """For tests of code that needs a limiter but not its behaviour."""

    def acquire(self) -> None:
        return None
