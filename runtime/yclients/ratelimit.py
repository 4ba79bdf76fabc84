"""One YCLIENTS request budget shared by every process, held over ANY sliding window (e.g. 5/s and 200/min),
with priority for INTERACTIVE calls (an owner or support is waiting) over BACKGROUND ones (syncs).

A sliding-window log in a Redis sorted set: one Lua call drops entries older than the widest window,
counts the entries inside each window, and admits the request (adds an entry) only when every window
has room; otherwise it returns how long until the oldest blocking entry leaves its window. Nothing is
held between calls, so a crashed worker leaks nothing: its entries simply age out of the window.

Priority, decided inside the same Lua call so it holds across every process:

- INTERACTIVE callers (the install check of the redirect, the activation callback, the welcome's company card,
  support's disconnect) may use the FULL budget. A refused interactive caller joins a line of waiting
  callers (`<key>:demand`, member = the caller, score = when it first waited; `<key>:demand:lapse` holds when
  each entry lapses: its wait + DEMAND_GRACE_MS) and leaves it when admitted; one that dies lapses on its
  own. First come, first served: with n free slots a caller is admitted only if fewer than n callers ahead
  of it are still due back (one more than LATE_AFTER_MS late for its expected return does not hold up the
  line). A caller with k callers ahead is told to come back no sooner than k x one slot (the fastest window's
  time per request, 0.2 s at 5/s), so a crowd of waiting owners does not retry all at once. A caller that may
  come back in another message (the activation: `activation:<salon>`) passes a stable name and keeps its place.
  Finish what is started: an activation callback joins the line ahead of install checks (FINISH_FIRST), so an
  owner who linked WhatsApp is not queued behind the redirects of owners who pressed «Подключить» later.
- BACKGROUND callers (full, incremental, company and schedule syncs) are admitted only while (a) the line
  is empty, i.e. no interactive caller is waiting, and (b) every window stays under its reserve-reduced
  limit: `limit - max(reserve(limit), interactive calls in that window)`, reserve = max(1, round(limit *
  RESERVE_SHARE)) (none for a limit of 1): for the official 5/s,200/min background gets at most 4/s and
  170/min, so 1/s + 30/min are always left for interactive calls arriving between two background calls; and
  while owners are onboarding, background keeps free at least as much of each window as they used in it
  (after 120 interactive calls in the last minute, background waits until the window holds fewer than 80
  requests), so the next owner's callback does not find the minute window filled by syncs during a momentary
  lull in the line. Interactive entries are marked `i:` in the log for this. The reserve is derived from YCLIENTS_RATE_LIMIT;
  there is no setting for it. A background caller refused because owners are waiting is told to wait until
  the last of their entries lapses (at least DEMAND_MIN_WAIT_MS).

Waiting: `acquire()` sleeps for the returned time and asks again. It gives up after `max_wait`
(RateLimitTimeout). A limiter built with `max_hold` (the syncs' and the onboarding jobs') never sleeps longer
than that in total: when the next wait would exceed it, `acquire()` raises BudgetWait(seconds) instead, so the
job can checkpoint and re-enqueue itself with that delay rather than hold a worker thread (workers/sync/,
workers/onboarding/activation.py).

Taken ahead: a caller that sends a pipeline anyway right before its first call (the install check reads its
request) can put one admission attempt in it (`ahead`, `Prepaid.queue`) and make the call inside `prepaid(...)`: that
call's `acquire()` then costs no round trip. The entry is logged when the call is about to go out, as with
`acquire()`; only the first call is taken this way (taking a later call's slot early would log it before
YCLIENTS sees it), and a slot the caller did not use is given back.
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
import random
import time
import uuid
from typing import Callable

from redis.exceptions import NoScriptError

from runtime.settings import RateLimit

logger = logging.getLogger("aiadmin.yclients.ratelimit")

KEY_PREFIX = "aiadmin:ratelimit:"
DEMAND_SUFFIX = ":demand"
DEMAND_EXPIRY_SUFFIX = ":demand:lapse"
INTERACTIVE = "interactive"
BACKGROUND = "background"
RESERVE_SHARE = 0.15  # of each window kept for interactive calls: 5/s -> 1/s, 200/min -> 30/min
DEMAND_GRACE_MS = 3000  # a refused interactive caller's place in line outlives its expected wait by this
DEMAND_MIN_WAIT_MS = 200  # background steps aside at least this long while interactive callers wait
LATE_AFTER_MS = 1000  # a waiting caller this late for its expected return no longer holds up those behind it
# (an activation: 5 x that, FINISH_FIRST_LATE_FACTOR in the script: it comes back through Dramatiq's delay queue and
# the worker's shared work queue, and losing its slot to install checks retrying in their threads sent it to the
# back of the minute window, benchmark 2)
# Callers that finish an onboarding already under way join the line this far ahead of those starting one: the
# activation callback of an owner who linked WhatsApp goes before the install check of a newly pressed redirect.
FINISH_FIRST = ("activation:",)
FINISH_FIRST_MS = 600_000

# KEYS[1] the log, KEYS[2] the interactive demand queue (member -> when it first waited: its place in line),
# KEYS[3] the demand's expiries (member -> when it lapses); ARGV[1] now in ms ('' = the Redis server clock,
# shared by every machine), ARGV[2] a unique member, ARGV[3] 'i' (interactive) or 'b' (background), ARGV[4] the
# caller id (its demand member), ARGV[5] demand grace ms, ARGV[6] background minimum wait ms, ARGV[7] the
# spacing ms between two waiting interactive callers' retries, ARGV[8] how late (ms) a caller may be before
# those behind it go first, ARGV[9] how far ahead (ms) the caller joins the line (FINISH_FIRST callers),
# ARGV[10..] triples full_limit, background_limit, window_ms. Returns {0, now} when admitted, {wait_ms, now} otherwise.
_ACQUIRE = """
local FINISH_FIRST_LATE_FACTOR = 5
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local interactive = ARGV[3] == 'i'
local widest = 0
for i = 10, #ARGV, 3 do
  local w = tonumber(ARGV[i + 2])
  if w > widest then widest = w end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - widest)
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, member in ipairs(lapsed) do redis.call('ZREM', KEYS[2], member) end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local wait = 0
for i = 10, #ARGV, 3 do
  local limit = tonumber(ARGV[i])
  local w = tonumber(ARGV[i + 2])
  if not interactive then
    -- Background keeps free at least as much of this window as interactive calls used in it (the demand of
    -- the last window is the best guess for the next), and never less than the fixed reserve.
    local used = 0
    for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - w), '+inf')) do
      if string.sub(member, 1, 2) == 'i:' then used = used + 1 end
    end
    limit = math.min(tonumber(ARGV[i + 1]), limit - used)
  end
  local count = redis.call('ZCOUNT', KEYS[1], '(' .. (now - w), '+inf')
  if count >= limit then
    local until_free = w
    if limit > 0 then
      local blocking = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - w), '+inf', 'WITHSCORES', 'LIMIT', count - limit, 1)
      until_free = tonumber(blocking[2]) + w - now
    end
    if until_free < 1 then until_free = 1 end
    if until_free > wait then wait = until_free end
  end
end
if interactive then
  -- First come, first served among interactive callers: with `room` free slots, a caller is admitted only if
  -- fewer than `room` callers ahead of it in line are still due back (a caller more than ARGV[8] ms late for
  -- its expected return does not hold up the line; it keeps its place for when it comes).
  local rank = redis.call('ZRANK', KEYS[2], ARGV[4])
  if not rank then
    -- Not in line yet: it stands behind those who joined at or before its own place (now, or further ahead for
    -- a FINISH_FIRST caller), not behind the whole line.
    rank = redis.call('ZCOUNT', KEYS[2], '-inf', now - tonumber(ARGV[9]))
  end
  local due = 0
  if rank > 0 and wait == 0 then
    local room = -1
    for i = 10, #ARGV, 3 do
      local w = tonumber(ARGV[i + 2])
      local free = tonumber(ARGV[i]) - redis.call('ZCOUNT', KEYS[1], '(' .. (now - w), '+inf')
      if room < 0 or free < room then room = free end
    end
    local ahead = redis.call('ZRANGE', KEYS[2], 0, rank - 1)
    for _, member in ipairs(ahead) do
      local lapse = tonumber(redis.call('ZSCORE', KEYS[3], member) or 0)
      local late = tonumber(ARGV[8])
      -- An activation comes back through Dramatiq's delay queue and the worker's work queue, often a second or
      -- two after its turn: it keeps its slot FINISH_FIRST_LATE_FACTOR times longer than other callers.
      if string.sub(member, 1, 11) == 'activation:' then late = late * FINISH_FIRST_LATE_FACTOR end
      if lapse - tonumber(ARGV[5]) + late >= now then due = due + 1 end
    end
    if due >= room then wait = (due - room + 1) * tonumber(ARGV[7]) end
  end
  if wait > 0 then
    -- In line: the first refusal sets the caller's place; callers further back are told to come back later,
    -- one slot per caller ahead, so a crowd of waiting callers does not retry all at once.
    if not redis.call('ZSCORE', KEYS[2], ARGV[4]) then redis.call('ZADD', KEYS[2], now - tonumber(ARGV[9]), ARGV[4]) end
    local spaced = rank * tonumber(ARGV[7])
    if spaced > wait then wait = spaced end
    local lapse = wait + tonumber(ARGV[5])
    redis.call('ZADD', KEYS[3], now + lapse, ARGV[4])
    redis.call('PEXPIRE', KEYS[2], lapse + 60000)
    redis.call('PEXPIRE', KEYS[3], lapse + 60000)
    return {wait, now}
  end
  redis.call('ZREM', KEYS[2], ARGV[4])
  redis.call('ZREM', KEYS[3], ARGV[4])
else
  local latest = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
  if latest[2] then
    local step_aside = tonumber(latest[2]) - now
    if step_aside < tonumber(ARGV[6]) then step_aside = tonumber(ARGV[6]) end
    if step_aside > wait then wait = step_aside end
  end
  if wait > 0 then return {wait, now} end
end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], widest + 1000)
return {0, now}
"""


# (caller, max_hold) for the limiter calls made inside `waiting_as` in this thread (e.g. the install check's).
_WAITING_AS: contextvars.ContextVar = contextvars.ContextVar("yclients_waiting_as", default=None)
# The slot this thread already holds for its next call (`prepaid`).
_PREPAID: contextvars.ContextVar = contextvars.ContextVar("yclients_prepaid", default=None)


@contextlib.contextmanager
def waiting_as(caller: str, max_hold: float | None = None):
    """Inside: every limiter call of this thread waits in line as `caller` (a stable name, kept across the job's
    messages) and, with `max_hold`, raises BudgetWait instead of sleeping longer than that."""
    token = _WAITING_AS.set((caller, max_hold))
    try:
        yield
    finally:
        _WAITING_AS.reset(token)


class Prepaid:
    """A slot taken ahead of its call (SlidingWindowLimiter.ahead), in a pipeline the caller sends anyway just
    before that call (`queue`; its reply to `answered`). Inside `prepaid(...)` the next `acquire()` of that limiter
    in this thread uses it instead of asking Redis; a slot not used by then is given back (its entry leaves the
    log), so a check that made no call costs no budget. A refused attempt is nothing: the call asks as usual (and
    waits in line from where the attempt put it)."""

    def __init__(self, limiter: "SlidingWindowLimiter", caller: str):
        self.limiter, self.caller = limiter, caller
        self.member = ""
        self.admitted = False

    def queue(self, pipe) -> None:
        """Add the admission attempt to `pipe`."""
        keys, args, self.member = self.limiter._attempt(self.caller)
        # EVALSHA itself: a Script object in a pipeline makes redis-py send SCRIPT EXISTS first, a round trip.
        pipe.evalsha(self.limiter._script.sha, len(keys), *keys, *args)

    def answered(self, answer) -> None:
        """The pipeline's reply to the attempt. Redis forgot the script (a restart): load it again; the call then
        asks as usual."""
        if isinstance(answer, NoScriptError):
            self.limiter.redis.script_load(self.limiter._script.script)
            return
        if isinstance(answer, Exception):
            raise answer
        self.admitted = int(answer[0]) == 0

    def take(self, limiter) -> bool:
        """Use the slot for `limiter`'s call: only the limiter (and so the priority) that took it."""
        if self.admitted and limiter is self.limiter:
            self.admitted = False
            return True
        return False

    def give_back(self) -> None:
        if self.admitted:
            self.admitted = False
            self.limiter.redis.zrem(self.limiter.key, self.member)


@contextlib.contextmanager
def prepaid(slot: Prepaid | None):
    """Inside: the next acquire() of the slot's limiter in this thread is already admitted (see Prepaid)."""
    if slot is None:
        yield
        return
    token = _PREPAID.set(slot)
    try:
        yield
    finally:
        _PREPAID.reset(token)
        slot.give_back()


class RateLimitTimeout(Exception):
    """Waited longer than `max_wait` for budget: a transient error, the job may retry later."""


class BudgetWait(Exception):
    """A background call would wait `seconds` for budget (more than its `max_hold`): the caller should
    checkpoint and come back later instead of holding its thread. Not a failure; nothing was sent."""

    def __init__(self, seconds: float):
        super().__init__(f"YCLIENTS budget free for background work in {seconds:.1f}s")
        self.seconds = seconds


def reserve(limit: int) -> int:
    """Requests of a window of `limit` that background work leaves for interactive calls: at least 1, but
    never the whole window (a 1/s budget keeps no reserve, or background would never run)."""
    if limit <= 1:
        return 0
    return min(limit - 1, max(1, int(round(limit * RESERVE_SHARE))))


def background_limit(limit: int) -> int:
    return limit - reserve(limit)


class SlidingWindowLimiter:
    """Blocking acquire over a shared budget. `clock_ms` is for tests; production uses Redis' clock."""

    def __init__(self, redis_client, budget: RateLimit, name: str = "yclients", *, max_wait: float = 120.0,
                 margin_ms: int = 100, priority: str = INTERACTIVE, max_hold: float | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock_ms: Callable[[], int] | None = None):
        if priority not in (INTERACTIVE, BACKGROUND):
            raise ValueError(f"priority must be {INTERACTIVE!r} or {BACKGROUND!r}")
        self.redis = redis_client
        self.key = KEY_PREFIX + name
        self.demand_key = self.key + DEMAND_SUFFIX
        self.lapse_key = self.key + DEMAND_EXPIRY_SUFFIX
        self.windows = budget.windows
        self.priority = priority
        # Each window is held a little longer than its nominal size: a request admitted here reaches
        # YCLIENTS a few ms later, and uneven delays could otherwise squeeze limit+1 into its window.
        self.margin_ms = margin_ms
        self.max_wait = max_wait
        self.max_hold = max_hold
        self.sleep = sleep
        self.clock_ms = clock_ms
        self._script = redis_client.register_script(_ACQUIRE)
        self.waited = 0.0  # total seconds this limiter slept (for logs and tests)
        # Waiting interactive callers retry one "slot" apart: the fastest window's time per request (coming back
        # early only costs a refusal; coming back late would leave a slot unused).
        self.spacing_ms = max(1, min(int(window * 1000 / limit) for limit, window in self.windows))

    def try_acquire(self, caller: str | None = None) -> float:
        """Admit one request now (returns 0.0) or return the seconds to wait before asking again.
        `caller` names an interactive caller's demand entry (one per waiting caller, kept across its retries)."""
        keys, args, _member = self._attempt(caller)
        wait_ms, _now = self._script(keys=keys, args=args)
        return int(wait_ms) / 1000.0

    def _attempt(self, caller: str | None) -> tuple[list, list, str]:
        """(keys, args, log member) of one admission attempt."""
        # An interactive entry is marked `i:` in the log: background work leaves free what interactive work used.
        member = ("i:" if self.priority == INTERACTIVE else "b:") + uuid.uuid4().hex
        args = ["" if self.clock_ms is None else int(self.clock_ms()), member,
                "i" if self.priority == INTERACTIVE else "b", caller or uuid.uuid4().hex, DEMAND_GRACE_MS,
                DEMAND_MIN_WAIT_MS, self.spacing_ms, LATE_AFTER_MS,
                FINISH_FIRST_MS if caller and caller.startswith(FINISH_FIRST) else 0]
        for limit, window in self.windows:
            args += [limit, background_limit(limit), int(window * 1000) + self.margin_ms]
        return [self.key, self.demand_key, self.lapse_key], args, member

    def ahead(self, caller: str) -> "Prepaid":
        """A slot for `caller`'s first call, asked in a pipeline the caller sends anyway (the install check's first
        read): that call then needs no round trip of its own for budget. See Prepaid."""
        return Prepaid(self, caller)

    def acquire(self, caller: str | None = None) -> None:
        """Block until admitted. Raises RateLimitTimeout after `max_wait` seconds of waiting, or (with
        `max_hold`) BudgetWait as soon as the total wait would exceed `max_hold`. `caller`: a stable name for an
        interactive caller that may come back in another message (its place in line is kept)."""
        prepaid = _PREPAID.get()
        if prepaid is not None and prepaid.take(self):
            return
        started = time.monotonic()
        context_caller, context_hold = _WAITING_AS.get() or (None, None)
        caller = caller or context_caller or uuid.uuid4().hex
        max_hold = self.max_hold if context_hold is None else context_hold
        waited = 0.0
        while True:
            wait = self.try_acquire(caller)
            if wait <= 0:
                return
            if max_hold is not None and waited + wait > max_hold:
                raise BudgetWait(wait)
            if waited + wait > self.max_wait:
                self.leave_line(caller)
                raise RateLimitTimeout(f"no YCLIENTS budget within {self.max_wait:.0f}s")
            # A little jitter so processes woken together do not collide on the same millisecond.
            pause = wait + random.uniform(0, 0.02)
            self.sleep(pause)
            waited += pause
            self.waited += pause
            if time.monotonic() - started > self.max_wait:
                self.leave_line(caller)
                raise RateLimitTimeout(f"no YCLIENTS budget within {self.max_wait:.0f}s")

    def leave_line(self, caller: str) -> None:
        """A caller that gives up leaves the line at once: a ghost would make every caller behind it wait longer."""
        if self.priority == INTERACTIVE:
            self.redis.zrem(self.demand_key, caller)
            self.redis.zrem(self.lapse_key, caller)


class NoLimiter:
    """For tests of code that needs a limiter but not its behaviour."""

    def acquire(self, caller: str | None = None) -> None:
        return None
