"""The start of an install check in ONE Redis call: a cached verdict, else a pending request, else the
check limits, else the request stored and, given a ScriptedEnqueue (runtime/broker.py), its `verify_install`
enqueued in the same call (otherwise the caller enqueues it after).

Before, this was five round trips (GET verdict, GET request, one sliding-window script per limit, SET NX);
under load each was a wait for a pooled connection and a reply (docs/performance/redirect.md). The limits are the
same sliding windows as web.marketplace.ratelimit (same keys, same scoring), counted in branches, and are
now all or none: a request refused by one limit does not use up the others. The enqueue inside the script
saved the redirect a round trip and Dramatiq's dispatch script under load (~1 ms of web CPU per new check in the
benchmark's profile, docs/performance/redirect.md); the job is on its queue exactly when the request is stored.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from redis.commands.core import Script

from models import install_check as ic
from runtime.broker import ScriptedEnqueue
from runtime.queue_bell import PUSH_LUA
from web.marketplace.ratelimit import PREFIX

# KEYS: verdict, request, the job's queue list, messages hash and bell, then one sorted set per limit.
# ARGV: now, cost, member prefix, request body, request ttl, the job's redis message id ('' = enqueued by the
# caller) and encoded message, then (limit, window) per limit.
_GATE = """
local verdict = redis.call('GET', KEYS[1])
if verdict then return {'verdict', verdict} end
local pending = redis.call('GET', KEYS[2])
if pending then return {'pending', pending} end
local now = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local wait = 0
for i = 6, #KEYS do
  local limit = tonumber(ARGV[8 + 2 * (i - 6)])
  local window = tonumber(ARGV[9 + 2 * (i - 6)])
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
for i = 6, #KEYS do
  for j = 1, cost do
    redis.call('ZADD', KEYS[i], now, ARGV[3] .. ':' .. (i - 3) .. ':' .. j)
  end
  redis.call('PEXPIRE', KEYS[i], math.ceil(tonumber(ARGV[9 + 2 * (i - 6)]) * 1000))
end
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[5])
if ARGV[6] ~= '' then
  """ + PUSH_LUA.format(queue="KEYS[3]", messages="KEYS[4]", bell="KEYS[5]", id="ARGV[6]", data="ARGV[7]") + """
end
return {'opened', ARGV[4]}
"""


@dataclass(frozen=True)
class Gate:
    """One of: `verdict` (cached), `request` (already pending, or `opened` by this call), `limited` seconds."""

    verdict: ic.Verdict | None = None
    request: ic.CheckRequest | None = None
    opened: bool = False
    limited: float = 0.0


def enter(redis_client, check: str, salon_ids: list[int], salon_name: str, limits, *, now: float,
          job: ScriptedEnqueue | None = None) -> Gate:
    """`limits`: (key, limit, window) rules, keys as in web.marketplace.ratelimit, each costing len(salon_ids).
    `job`: the check's `verify_install`, enqueued by the script when (and only when) it opens the check; the caller
    then calls `job.done()`."""
    queue_keys = job.keys if job is not None else (ic.request_key(check),) * 3  # unused without a job
    keys = [ic.verdict_key(check), ic.request_key(check), *queue_keys, *(PREFIX + key for key, _, _ in limits)]
    args = [now, max(1, len(salon_ids)), uuid.uuid4().hex, ic.request_body(salon_ids, salon_name, now),
            ic.REQUEST_TTL, *(job.args if job is not None else ("", ""))]
    for _, limit, window in limits:
        args += [limit, window]
    kind, value = Script(redis_client, _GATE)(keys=keys, args=args)
    kind = kind.decode() if isinstance(kind, bytes) else kind
    if kind == "verdict":
        return Gate(verdict=ic.parse_verdict(value))
    if kind == "limited":
        return Gate(limited=int(value) / 1000.0)
    return Gate(request=ic.parse_request(value), opened=kind == "opened")
