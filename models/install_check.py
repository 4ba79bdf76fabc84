"""The install check between the redirect (web) and the worker that asks YCLIENTS: request and verdict in Redis.

The web stores a request under a check id (the signature and the branch ids, hashed) and enqueues
`verify_install(check_id)`; the worker asks YCLIENTS and writes the verdict next to it; the web reads
the verdict (it waits a few seconds, or its "checking" page comes back for it). The verdict also
answers repeated presses of the same link for VERDICT_TTL seconds: a short-lived cache, so a burst of
presses (or of forged branch ids under one signature) is one round of YCLIENTS calls.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field

PREFIX = "aiadmin:install-check:"
REQUEST_TTL = 60  # a check still unanswered after this long is given up (the page says "try again")
VERDICT_TTL = 20  # how long a verdict answers the same link again
UNAVAILABLE_TTL = 5  # "YCLIENTS did not answer" is retried soon

CONFIRMED = "confirmed"  # the first branch is installing/active in YCLIENTS and its title matches
REFUSED = "refused"  # YCLIENTS does not confirm the first branch (not installed, uninstalled, no access)
MISMATCH = "mismatch"  # the signed salon_name is not the first branch's company title
UNAVAILABLE = "unavailable"  # YCLIENTS unreachable, 5xx, or no request budget in time

# YCLIENTS' connection_status values that let a branch in: a (re)install in progress, or an owner's revisit.
INSTALLING = "pending"
ACTIVE = "active"
ADMITTED = (INSTALLING, ACTIVE)


def check_id(signature: str, salon_ids) -> str:
    text = f"{signature.strip().lower()}|{','.join(str(int(s)) for s in salon_ids)}"
    return hashlib.sha256(text.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class CheckRequest:
    salon_ids: list[int]
    salon_name: str
    started: float


@dataclass(frozen=True)
class Verdict:
    status: str
    # Confirmed branches only, in the redirect's order: {"salon_id", "status" (YCLIENTS'), "title" or None}.
    branches: list[dict] = field(default_factory=list)
    reason: str = ""
    checked_at: float = 0.0

    @property
    def confirmed(self) -> bool:
        return self.status == CONFIRMED and bool(self.branches)

    def yclients_status(self, salon_id: int) -> str | None:
        return next((b["status"] for b in self.branches if b["salon_id"] == int(salon_id)), None)


def request_key(check: str) -> str:
    return f"{PREFIX}{check}:request"


def verdict_key(check: str) -> str:
    return f"{PREFIX}{check}:verdict"


def reply_key(check: str) -> str:
    """A one-element list holding the verdict: what a waiting redirect blocks on (wait_verdict)."""
    return f"{PREFIX}{check}:reply"


def request_body(salon_ids, salon_name: str, now: float | None = None) -> str:
    return json.dumps({"salon_ids": [int(s) for s in salon_ids], "salon_name": salon_name,
                       "started": time.time() if now is None else now}, ensure_ascii=False)


def parse_request(raw) -> CheckRequest:
    value = json.loads(raw)
    return CheckRequest([int(s) for s in value["salon_ids"]], str(value.get("salon_name", "")),
                        float(value.get("started", 0)))


def parse_verdict(raw) -> Verdict:
    value = json.loads(raw)
    return Verdict(status=value["status"], branches=list(value.get("branches") or []),
                   reason=str(value.get("reason", "")), checked_at=float(value.get("checked_at", 0)))


def open_request(redis_client, check: str, salon_ids, salon_name: str, now: float | None = None) -> bool:
    """Store the request unless one is already waiting; True when this call created it (then enqueue)."""
    return bool(redis_client.set(request_key(check), request_body(salon_ids, salon_name, now), nx=True,
                                 ex=REQUEST_TTL))


def load_request(redis_client, check: str) -> CheckRequest | None:
    raw = redis_client.get(request_key(check))
    return parse_request(raw) if raw else None


def answers_key(check: str) -> str:
    """The YCLIENTS answers a deferred check already had (workers/onboarding/install_check.py's Remembered)."""
    return f"{PREFIX}answers:{check}"


def load(redis_client, check: str, also=None) -> tuple[CheckRequest | None, Verdict | None, dict, list]:
    """The worker's first look, in one round trip: the request, the verdict, the answers an earlier message of a
    deferred check kept (field -> raw JSON; empty for a fresh check), and the replies of whatever `also(pipe)`
    added to the same pipeline (the first YCLIENTS call's budget: workers/onboarding/install_check.py)."""
    pipe = redis_client.pipeline(transaction=False)
    pipe.mget(request_key(check), verdict_key(check))
    pipe.hgetall(answers_key(check))
    if also is not None:
        also(pipe)
    replies = pipe.execute(raise_on_error=False)
    for reply in replies[:2]:
        if isinstance(reply, Exception):
            raise reply
    (raw_request, raw_verdict), answers, *more = replies  # `more` as Redis answered, errors included
    return (parse_request(raw_request) if raw_request else None,
            parse_verdict(raw_verdict) if raw_verdict else None,
            {k.decode() if isinstance(k, bytes) else k: v for k, v in answers.items()}, more)


def queue_verdict(pipe, check: str, verdict: Verdict) -> None:
    """Add the verdict's writes to `pipe` (write_verdict), so the worker sends them with its other writes in one
    round trip. The answers kept for a deferred check go with the request: the check is over."""
    ttl = UNAVAILABLE_TTL if verdict.status == UNAVAILABLE else VERDICT_TTL
    body = json.dumps(asdict(verdict), ensure_ascii=False)
    pipe.set(verdict_key(check), body, ex=ttl)
    pipe.delete(request_key(check), reply_key(check), answers_key(check))
    pipe.rpush(reply_key(check), body)
    pipe.expire(reply_key(check), ttl)


def write_verdict(redis_client, check: str, verdict: Verdict) -> None:
    """Store the verdict and close the request: once the verdict expires, the next press asks YCLIENTS anew.
    The verdict also goes into the reply list, which wakes every redirect blocked on it (wait_verdict)."""
    pipe = redis_client.pipeline()
    queue_verdict(pipe, check, verdict)
    pipe.execute()


def read_verdict(redis_client, check: str) -> Verdict | None:
    raw = redis_client.get(verdict_key(check))
    return parse_verdict(raw) if raw else None


def wait_verdict(redis_client, check: str, timeout: float) -> Verdict | None:
    """Block until the worker writes the verdict (or `timeout` seconds pass): the answer arrives the moment it
    is written, with no polling. BRPOPLPUSH of the list onto itself returns its element and leaves it in place,
    so every redirect waiting on the same check wakes up, and one that comes after the verdict returns at once."""
    # Never block past the client's own socket timeout (that would be a TimeoutError, a 503, not a "checking").
    socket_timeout = redis_client.connection_pool.connection_kwargs.get("socket_timeout")
    if socket_timeout:
        timeout = min(timeout, socket_timeout - 0.5)
    if timeout <= 0:
        return None
    raw = redis_client.brpoplpush(reply_key(check), reply_key(check), timeout=timeout)
    return parse_verdict(raw) if raw else None


def forget(redis_client, check: str) -> None:
    """Drop the request and the verdict, so the next press asks YCLIENTS again."""
    redis_client.delete(request_key(check), verdict_key(check), reply_key(check))
