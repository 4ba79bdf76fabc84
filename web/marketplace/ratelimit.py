"""Small Redis rate limits for the web tier (per IP, per salon), shared by every web process.

A sliding window in a sorted set: the N+1st hit within any `window` seconds is refused.
"""
from __future__ import annotations

import time
import uuid

PREFIX = "aiadmin:web:rl:"

_HIT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local cost = tonumber(ARGV[5] or '1')
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count + cost > limit then
  if count == 0 then return math.ceil(window * 1000) end
  local index = math.max(0, math.min(count - 1, count + cost - limit - 1))
  local freeing = redis.call('ZRANGE', KEYS[1], index, index, 'WITHSCORES')
  return math.max(1, math.ceil((tonumber(freeing[2]) + window - now) * 1000))
end
for i = 1, cost do
  redis.call('ZADD', KEYS[1], now, ARGV[4] .. ':' .. i)
end
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return 0
"""


class RateLimiter:
    def __init__(self, redis_client, clock=time.time):
        self.redis = redis_client
        self.clock = clock
        self._hit = redis_client.register_script(_HIT)

    def hit(self, key: str, limit: int, window: float, cost: int = 1) -> float:
        """Count `cost` hits at once (all or none); 0 if allowed, else the seconds until they would be."""
        wait_ms = int(self._hit(keys=[PREFIX + key], args=[self.clock(), window, limit, uuid.uuid4().hex,
                                                          max(1, int(cost))]))
        return wait_ms / 1000.0

    def blocked(self, key: str, limit: int, window: float) -> bool:
        """Whether `key` already had `limit` hits within `window` (a look, not a hit)."""
        now = self.clock()
        return self.redis.zcount(PREFIX + key, now - window, "+inf") >= limit

    def allow(self, *rules: tuple) -> float:
        """Check every (key, limit, window[, cost]); the longest wait if any refuses (0 when all allow)."""
        return max((self.hit(*rule) for rule in rules), default=0.0)
