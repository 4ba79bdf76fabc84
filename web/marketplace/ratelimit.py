"""Small Redis rate limits for the web tier (per IP, per salon), shared by every web process.

A sliding window in a sorted set: the N+1st hit within any `window` seconds is refused.
"""
from __future__ import annotations

import time
import uuid

from flask import current_app

PREFIX = "aiadmin:web:rl:"
EXTENSION = "aiadmin.ratelimiter"  # one limiter per app, made by web.marketplace.init_app
# The per-address budget of failed answers (key template, failed answers, window s), enforced by web.error_budget.
# It lives next to the limiter because a route may look at it in its own first Redis call (allow_within_budget).
ERROR_BUDGET = ("errors:ip:{ip}", 20, 60)


class BudgetSpent(Exception):
    """The address's budget of failed answers is spent: web.error_budget answers with its 429."""

# One sliding-window hit as a Lua function, shared by the scripts below: 0 if allowed, else the ms to wait.
HIT_FUNCTION = """
local function hit(key, now, window, limit, member, cost)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count + cost > limit then
    if count == 0 then return math.ceil(window * 1000) end
    local index = math.max(0, math.min(count - 1, count + cost - limit - 1))
    local freeing = redis.call('ZRANGE', key, index, index, 'WITHSCORES')
    return math.max(1, math.ceil((tonumber(freeing[2]) + window - now) * 1000))
  end
  for i = 1, cost do
    redis.call('ZADD', key, now, member .. ':' .. i)
  end
  redis.call('PEXPIRE', key, math.ceil(window * 1000))
  return 0
end
"""

# A route's entry as a Lua function (HIT_FUNCTION's `hit` with it): a look at the error budget (keys[first], as
# `blocked` looks) and, unless it is spent (-1), a hit of each limit (keys[first + 1 ..]) one after the other as
# `allow` does them; the longest wait in ms (0: allowed). args[base], args[base + 1]: the budget's limit and
# window, then (limit, window) per limit. Shared by _WITHIN_BUDGET and the install check's gate, which enters
# the redirect in its own script (web/marketplace/check_gate.py).
ENTRY_FUNCTION = HIT_FUNCTION + """
local function entry(keys, first, args, base, now, member)
  if redis.call('ZCOUNT', keys[first], now - tonumber(args[base + 1]), '+inf') >= tonumber(args[base]) then
    return -1
  end
  local wait = 0
  for i = first + 1, #keys do
    local j = base + 2 * (i - first)
    local w = hit(keys[i], now, tonumber(args[j + 1]), tonumber(args[j]), member .. ':' .. i, 1)
    if w > wait then wait = w end
  end
  return wait
end
"""

_HIT = HIT_FUNCTION + """
return hit(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5] or '1'))
"""

# ARGV: now, member, then the entry's (budget limit, budget window, (limit, window) per limit).
_WITHIN_BUDGET = ENTRY_FUNCTION + """
return entry(KEYS, 1, ARGV, 3, tonumber(ARGV[1]), ARGV[2])
"""


class RateLimiter:
    def __init__(self, redis_client, clock=time.time):
        self.redis = redis_client
        self.clock = clock
        self._hit = redis_client.register_script(_HIT)
        self._within_budget = redis_client.register_script(_WITHIN_BUDGET)

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

    def allow_within_budget(self, ip: str, *rules: tuple) -> float:
        """The app's error-budget look for `ip` and then `allow(*rules)` (cost 1 each) in ONE round trip, for a
        route that web.error_budget lets check the budget itself. Raises BudgetSpent (nothing hit) when spent."""
        keys, tail = self.entry(ip, rules)
        return self.entry_wait(int(self._within_budget(keys=keys, args=[self.clock(), uuid.uuid4().hex, *tail])))

    @staticmethod
    def entry(ip: str, rules) -> tuple[list[str], list]:
        """(keys, args) of ENTRY_FUNCTION for `ip`'s error budget and `rules` ((key, limit, window), cost 1)."""
        template, limit, window = ERROR_BUDGET
        args = [limit, window]
        for _, rule_limit, rule_window in rules:
            args += [rule_limit, rule_window]
        return [PREFIX + template.format(ip=ip), *(PREFIX + rule[0] for rule in rules)], args

    @staticmethod
    def entry_wait(wait_ms: int) -> float:
        """ENTRY_FUNCTION's answer in seconds; BudgetSpent when the budget is spent (nothing was hit)."""
        if wait_ms < 0:
            raise BudgetSpent()
        return wait_ms / 1000.0


def limiter() -> RateLimiter:
    """This app's limiter."""
    return current_app.extensions[EXTENSION]
