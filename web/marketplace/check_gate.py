"""The start of an install check in ONE Redis call: a cached verdict, else a pending request, else the
check limits, else the request stored and, given a ScriptedEnqueue (runtime/broker.py), its `verify_install`
enqueued in the same call (otherwise the caller enqueues it after).

Before, this was five round trips (GET verdict, GET request, one sliding-window script per limit, SET NX);
under load each was a wait for a pooled connection and a reply (docs/performance/redirect.md). The limits are the
same sliding windows as web.marketplace.ratelimit (same keys, same scoring), counted in branches, and are
now all or none: a request refused by one limit does not use up the others. The enqueue inside the script
saved the redirect a round trip and Dramatiq's dispatch script under load (~1 ms of web CPU per new check in the
benchmark's profile, docs/performance/redirect.md); the job is on its queue exactly when the request is stored.
A redirect with a valid signature enters through the gate too (`entry`): its error budget and per-address limit,
looked at and hit first in the same script, as RateLimiter.allow_within_budget would in a call of its own.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from redis.commands.core import Script

from models import install_check as ic
from runtime.broker import ScriptedEnqueue
from runtime.queue_bell import PUSH_LUA
from web.marketplace.ratelimit import ENTRY_FUNCTION, PREFIX, RateLimiter

# KEYS: verdict, request, the job's queue list, messages hash and bell, one sorted set per check limit, then (a
# redirect's entry, optional) the address's error budget and one sorted set per address limit.
# ARGV: now, cost, member prefix, request body, request ttl, the job's redis message id ('' = enqueued by the
# caller) and encoded message, the number of check limits, (limit, window) per check limit, then the entry's
# arguments (ENTRY_FUNCTION: budget limit and window, (limit, window) per address limit).
_GATE = ENTRY_FUNCTION + """
local now = tonumber(ARGV[1])
local checks = tonumber(ARGV[8])
if #KEYS > 5 + checks then
  local wait = entry(KEYS, 6 + checks, ARGV, 9 + 2 * checks, now, ARGV[3])
  if wait ~= 0 then return {'entry', tostring(wait)} end
end
local verdict = redis.call('GET', KEYS[1])
if verdict then return {'verdict', verdict} end
local pending = redis.call('GET', KEYS[2])
if pending then return {'pending', pending} end
local cost = tonumber(ARGV[2])
local wait = 0
for i = 6, 5 + checks do
  local limit = tonumber(ARGV[9 + 2 * (i - 6)])
  local window = tonumber(ARGV[10 + 2 * (i - 6)])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  local count = redis.call('ZCARD', KEYS[i])
  if count + cost > limit then
    local w = math.ceil(window * 1000)
    if count > 0 then
      local index = math.max(0, math.min(count - 1, count + cost - limit - 1))
      local freeing = redis.call('ZRANGE', KEYS[i], index, index, 'WITHSCORES')
      w = math.max(1, math.ceil((tonumber(freeing[2]) + window - now) * 1000))
    end
    if w > wait then wait = w end
  end
end
if wait > 0 then return {'limited', tostring(wait)} end
for i = 6, 5 + checks do
  for j = 1, cost do
    redis.call('ZADD', KEYS[i], now, ARGV[3] .. ':' .. (i - 3) .. ':' .. j)
  end
  redis.call('PEXPIRE', KEYS[i], math.ceil(tonumber(ARGV[10 + 2 * (i - 6)]) * 1000))
end
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[5])
if ARGV[6] ~= '' then
  """ + PUSH_LUA.format(queue="KEYS[3]", messages="KEYS[4]", bell="KEYS[5]", id="ARGV[6]", data="ARGV[7]") + """
end
return {'opened', ARGV[4]}
"""


@dataclass(frozen=True)
class Gate:
    """One of: `verdict` (cached), `request` (already pending, or `opened` by this call), `limited` seconds (a
    check limit), `entry_limited` seconds (the redirect's own address limit, counted before anything else)."""

    verdict: ic.Verdict | None = None
    request: ic.CheckRequest | None = None
    opened: bool = False
    limited: float = 0.0
    entry_limited: float = 0.0


def enter(redis_client, check: str, salon_ids: list[int], salon_name: str, limits, *, now: float,
          job: ScriptedEnqueue | None = None, entry: tuple[list, list] | None = None) -> Gate:
    """`limits`: (key, limit, window) rules, keys as in web.marketplace.ratelimit, each costing len(salon_ids).
    `job`: the check's `verify_install`, enqueued by the script when (and only when) it opens the check; the caller
    then calls `job.done()`. `entry`: the redirect's (keys, args) of RateLimiter.entry: its error budget and
    address limits, looked at and hit first, in the same call (BudgetSpent when the budget is spent)."""
    queue_keys = job.keys if job is not None else (ic.request_key(check),) * 3  # unused without a job
    entry_keys, entry_args = entry if entry is not None else ([], [])
    keys = [ic.verdict_key(check), ic.request_key(check), *queue_keys, *(PREFIX + key for key, _, _ in limits),
            *entry_keys]
    args = [now, max(1, len(salon_ids)), uuid.uuid4().hex, ic.request_body(salon_ids, salon_name, now),
            ic.REQUEST_TTL, *(job.args if job is not None else ("", "")), len(limits)]
    for _, limit, window in limits:
        args += [limit, window]
    kind, value = Script(redis_client, _GATE)(keys=keys, args=[*args, *entry_args])
    kind = kind.decode() if isinstance(kind, bytes) else kind
    if kind == "verdict":
        return Gate(verdict=ic.parse_verdict(value))
    if kind == "limited":
        return Gate(limited=int(value) / 1000.0)
    if kind == "entry":  # as allow_within_budget reads it: BudgetSpent when spent, else the seconds to wait
        return Gate(entry_limited=RateLimiter.entry_wait(int(value)))
    return Gate(request=ic.parse_request(value), opened=kind == "opened")
