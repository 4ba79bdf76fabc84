"""Paced, human-looking, never-duplicated sending of OutboundMessage rows through the gateway.

Per session a GCRA token bucket in Redis (default 1 message / 3 s sustained, burst 5) hands out send
slots; the sender marks the chat seen, shows typing for a time scaled to the text, and schedules the
actual send as a delayed message instead of sleeping in a worker thread. The send itself is guarded
by a status transition (pending -> sending) so two copies of a job can never send twice.
"""
from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from runtime.gateway.errors import (AccountBanned, AmbiguousSend, GatewayError, PermanentGatewayError,
                           RecipientRestricted, RetryableGatewayError)
from runtime.gateway.naming import session_name
from models import outbound as O
from models.db import utcnow
from models.outbound import OutboundMessage
from models.timeline import record
from runtime import metrics

logger = logging.getLogger("aiadmin.bridge")

RESTRICTION_TTL = 24 * 3600  # a reach-out timelock lasts hours; support may lift it earlier (DEL the key)

_GCRA = """
local now, interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local slot = tat - (burst - 1) * interval
if slot < now then slot = now end
local next_tat = tat + interval
redis.call('SET', KEYS[1], tostring(next_tat), 'EX', math.ceil(next_tat - now) + 60)
return tostring(slot)
"""


@dataclass(frozen=True)
class Pacing:
    interval: float = 3.0  # seconds per message per session, sustained
    burst: int = 5
    typing_per_char: float = 0.04  # reference §2.5: len x 40 ms ...
    typing_min: float = 1.0  # ... clamped; kept short so the welcome lands within ~5 s of connecting
    typing_max: float = 3.0
    jitter: tuple[float, float] = (0.9, 1.1)
    early: float = 0.5  # a job this close to its slot proceeds instead of waiting again


def typing_seconds(text: str, pacing: Pacing, rand: Callable[[], float] = random.random) -> float:
    base = min(max(len(text) * pacing.typing_per_char, pacing.typing_min), pacing.typing_max)
    low, high = pacing.jitter
    return base * (low + (high - low) * rand())


def slot_key(session: str) -> str:
    return f"aiadmin:wa:pace:{session}"


def restricted_key(session: str) -> str:
    return f"aiadmin:wa:restricted:{session}"


class SessionPacer:
    """Reserves send slots per session: the first `burst` go now, then one every `interval` seconds."""

    def __init__(self, redis_client, pacing: Pacing, clock: Callable[[], float] = time.time):
        self.redis = redis_client
        self.pacing = pacing
        self.clock = clock
        self._script = redis_client.register_script(_GCRA)

    def reserve(self, session: str) -> float:
        return float(self._script(keys=[slot_key(session)],
                                  args=[repr(self.clock()), self.pacing.interval, self.pacing.burst]))


@dataclass
class SendDeps:
    waha: Any
    redis: Any
    jobs: Any
    pacing: Pacing = field(default_factory=Pacing)
    clock: Callable[[], float] = field(default=time.time)
    rand: Callable[[], float] = field(default=random.random)

    @classmethod
    def of(cls, container) -> "SendDeps":
        """The parts of a process's container (runtime.container.Container) that sending uses."""
        return cls(waha=container.gateway, redis=container.redis, jobs=container.jobs)


def restriction(deps: SendDeps, session: str) -> dict | None:
    raw = deps.redis.get(restricted_key(session))
    return json.loads(raw) if raw else None


def _transition(outbound_id: int, from_states: tuple[str, ...], to: str, **fields) -> bool:
    return (OutboundMessage.update(status=to, updated_at=utcnow(), **fields)
            .where(OutboundMessage.id == outbound_id, OutboundMessage.status.in_(from_states)).execute()) == 1


def _notify(deps: SendDeps, outbound_id: int) -> None:
    row = OutboundMessage.get_or_none(OutboundMessage.id == outbound_id)
    if row is not None and row.notify_actor:
        deps.jobs.send(row.notify_actor, int(outbound_id))


def _finish(deps: SendDeps, outbound_id: int, from_states: tuple[str, ...], to: str, **fields) -> bool:
    done = _transition(outbound_id, from_states, to, **fields)
    if done:
        metrics.message_sent(to)
        _notify(deps, outbound_id)
    return done


def schedule_send(deps: SendDeps, outbound_id: int) -> str:
    """Step 1 (actor send_whatsapp_text): wait for the session's slot, mark seen, start typing, and
    enqueue the delayed deliver. Returns what it did (for logs and tests)."""
    row = OutboundMessage.get_or_none(OutboundMessage.id == outbound_id)
    if row is None or row.status != O.PENDING:
        return "skipped"  # already sent/failed/in flight: a duplicate job does nothing
    session = session_name(row.salon_id)
    if restriction(deps, session):
        _finish(deps, outbound_id, (O.PENDING,), O.FAILED, error="sending stopped: the session is restricted")
        return "restricted"
    key = f"aiadmin:wa:out:{int(outbound_id)}:slot"
    raw = deps.redis.get(key)
    if raw is None:
        slot = SessionPacer(deps.redis, deps.pacing, deps.clock).reserve(session)
        if not deps.redis.set(key, repr(slot), nx=True, ex=3600):
            slot = float(deps.redis.get(key))  # a concurrent copy reserved first; share its slot
    else:
        slot = float(raw)
    typing = typing_seconds(row.text, deps.pacing, deps.rand)
    now = deps.clock()
    if slot - typing > now + deps.pacing.early:
        deps.jobs.send_whatsapp_text(int(outbound_id), delay_ms=int((slot - typing - now) * 1000))
        return "waiting"
    deps.waha.send_seen(session, row.chat_id)
    deps.waha.start_typing(session, row.chat_id)
    if not deps.redis.set(f"aiadmin:wa:out:{int(outbound_id)}:scheduled", "1", nx=True, ex=3600):
        return "skipped"
    deps.jobs.deliver_whatsapp_text(int(outbound_id), delay_ms=int(max(slot - now, typing) * 1000))
    return "scheduled"


def deliver(deps: SendDeps, outbound_id: int) -> str:
    """Step 2 (actor deliver_whatsapp_text): the one sendText. Marked `sending` before the call."""
    row = OutboundMessage.get_or_none(OutboundMessage.id == outbound_id)
    if row is None or not _transition(outbound_id, (O.PENDING,), O.SENDING):
        return "skipped"
    session = session_name(row.salon_id)
    if restriction(deps, session):
        _finish(deps, outbound_id, (O.SENDING,), O.FAILED, error="sending stopped: the session is restricted")
        return "restricted"
    try:
        deps.waha.stop_typing(session, row.chat_id)
    except GatewayError:
        pass  # cosmetic; the message matters more than the indicator
    try:
        message_id = deps.waha.send_text(session, row.chat_id, row.text)
    except AmbiguousSend as exc:
        _finish(deps, outbound_id, (O.SENDING,), O.UNKNOWN, error=str(exc)[:2000])
        record(row.salon_id, "whatsapp_send_unknown", "worker", outbound_id=int(outbound_id))
        raise
    except (RecipientRestricted, AccountBanned) as exc:
        restrict(deps, session, exc)
        _finish(deps, outbound_id, (O.SENDING,), O.FAILED, error=str(exc)[:2000])
        record(row.salon_id, "whatsapp_send_restricted", "worker", outbound_id=int(outbound_id),
               reason=type(exc).__name__, status=exc.status)
        raise
    except RetryableGatewayError:
        _transition(outbound_id, (O.SENDING,), O.PENDING)  # definitely not sent: safe to try again
        raise
    except PermanentGatewayError as exc:
        _finish(deps, outbound_id, (O.SENDING,), O.FAILED, error=str(exc)[:2000])
        raise
    _finish(deps, outbound_id, (O.SENDING,), O.SENT, gateway_message_id=message_id[:128], sent_at=utcnow())
    return "sent"


def restrict(deps: SendDeps, session: str, exc: Exception) -> None:
    deps.redis.set(restricted_key(session), json.dumps({"reason": type(exc).__name__, "error": str(exc)[:300],
                                                        "at": deps.clock()}), ex=RESTRICTION_TTL)
    logger.warning("sending stopped for %s: %s", session, type(exc).__name__)


def give_up(deps: SendDeps, outbound_id: int, reason: str) -> bool:
    """Retries exhausted before anything was sent: the outcome is final, tell whoever waits for it."""
    return _finish(deps, outbound_id, (O.PENDING,), O.FAILED, error=reason[:2000])
