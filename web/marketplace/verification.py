"""The redirect's side of the install check: limits, one `verify_install` job per link, a brief wait for the verdict.

The web tier never calls YCLIENTS itself (ARCHITECTURE §2): it stores the request in Redis and enqueues the
worker's job (one script call, check_gate.py, with the limits), and blocks on the verdict's reply list for up to
WAIT_SECONDS (the answer arrives the moment the worker writes it). Not there yet: the "checking" page,
which reloads the same URL by itself (<meta http-equiv="refresh">, no JS needed) and finds the verdict
then. Before a new check is enqueued, per-address and per-signature limits apply, counted in branches
(each branch is a YCLIENTS call), so a flood of forged ids never becomes a flood of YCLIENTS calls.
"""
from __future__ import annotations

import datetime
import hashlib
import html
import threading
import time
from dataclasses import dataclass

from models import install_check as ic
from models import salon as s
from models.salon import Salon
from web.context import ctx
from web.marketplace import check_gate
from web.marketplace.ratelimit import limiter

# (key template, branches, window s): each branch is one YCLIENTS call. A 50-branch network may press three
# times in 10 minutes; a chain behind one NAT twice that. A verdict answers the same link for 20 s for free.
CHECK_LIMITS = (("check:ip:{ip}", 300, 600), ("check:sign:{sign}", 150, 600))
WAIT_SECONDS = 4.0  # how long the redirect holds the request for the verdict
POLL_SECONDS = 0.1  # only when MAX_BLOCKING_WAITS are taken
# Redirects of one process blocked on a verdict at once, each holding a pooled Redis connection (the pool has
# runtime.redis_client.REDIS_POOL_SIZE): past that, the others poll, so a burst never starves the pool.
MAX_BLOCKING_WAITS = 32
GIVE_UP_SECONDS = 30.0  # a check unanswered for this long: "try again in a minute" (worker down, queue stuck)
REFRESH_SECONDS = 2  # the checking page reloads after this long

CHECKING_PAGE = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{refresh}">
<title>{title}</title>
<style>body{{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1d1d1f;line-height:1.5}}
h1{{font-size:1.4rem}}</style>
</head><body><main><h1>{title}</h1><p>{message}</p></main></body></html>"""


@dataclass(frozen=True)
class Outcome:
    """What the redirect does next: use `verdict`, show the checking page, or refuse (`limited` or
    `entry_limited` seconds)."""

    verdict: ic.Verdict | None = None
    checking: bool = False
    limited: float = 0.0
    entry_limited: float = 0.0  # the redirect's own per-address limit (`entry`), not a check limit


_BLOCKING = threading.BoundedSemaphore(MAX_BLOCKING_WAITS)


def signature_key(signature: str) -> str:
    return hashlib.sha256(signature.strip().lower().encode()).hexdigest()[:32]


def obtain(check: str, salon_ids: list[int], salon_name: str, signature: str, ip: str, *,
           entry_limits=None, clock=time.time, sleep=time.sleep) -> Outcome:
    """`entry_limits`: the redirect's own (key, limit, window) rules for `ip`, looked at with its error budget in
    the gate's script, before anything else (BudgetSpent when the budget is spent)."""
    c = ctx()
    limits = [(key.format(ip=ip, sign=signature_key(signature)), limit, window) for key, limit, window in CHECK_LIMITS]
    job = c.jobs.verify_install_in_script(check)  # enqueued by the gate's script if it opens the check
    entry = limiter().entry(ip, entry_limits) if entry_limits is not None else None
    gate = check_gate.enter(c.redis, check, salon_ids, salon_name, limits, now=limiter().clock(), job=job,
                            entry=entry)
    if gate.entry_limited:
        return Outcome(entry_limited=gate.entry_limited)
    if gate.verdict is not None and _stale(gate.verdict, salon_ids):
        ic.forget(c.redis, check)  # uninstalled since YCLIENTS was asked: ask again before a reinstall
        gate = check_gate.enter(c.redis, check, salon_ids, salon_name, limits, now=limiter().clock(), job=job)
    if gate.verdict is not None:
        return Outcome(verdict=gate.verdict)
    if gate.limited:
        return Outcome(limited=gate.limited)
    if gate.opened and job is not None:
        job.done()
    elif gate.opened:
        try:
            c.jobs.verify_install(check)
        except Exception:
            ic.forget(c.redis, check)  # nobody will answer it: let the next press enqueue again
            raise
    started = gate.request.started
    verdict = _wait(c.redis, check, clock, sleep)
    if verdict is not None:
        return Outcome(verdict=verdict)
    if clock() - started > GIVE_UP_SECONDS:
        ic.forget(c.redis, check)
        return Outcome(verdict=ic.Verdict(ic.UNAVAILABLE, reason="no verdict in time", checked_at=clock()))
    return Outcome(checking=True)


def _wait(redis_client, check: str, clock, sleep) -> ic.Verdict | None:
    """The verdict within WAIT_SECONDS: blocked on its reply list (one pooled Redis connection held while
    waiting), or, when MAX_BLOCKING_WAITS redirects of this process already hold one, by polling."""
    deadline = clock() + WAIT_SECONDS
    if _BLOCKING.acquire(blocking=False):
        try:
            return ic.wait_verdict(redis_client, check, WAIT_SECONDS) or ic.read_verdict(redis_client, check)
        finally:
            _BLOCKING.release()
    while True:
        verdict = ic.read_verdict(redis_client, check)
        if verdict is not None or clock() >= deadline:
            return verdict
        sleep(POLL_SECONDS)


def _stale(verdict: ic.Verdict, salon_ids: list[int]) -> bool:
    """A cached verdict older than an uninstall/freeze we recorded for one of its branches."""
    rows = Salon.select(Salon.state, Salon.updated_at).where(
        Salon.salon_id.in_(salon_ids), Salon.state.in_([s.UNINSTALLED, s.FROZEN]))
    return any(_epoch(row.updated_at) >= verdict.checked_at for row in rows)


def _epoch(moment: datetime.datetime) -> float:
    return moment.replace(tzinfo=datetime.timezone.utc).timestamp()


def checking_page(title: str, message: str):
    body = CHECKING_PAGE.format(refresh=REFRESH_SECONDS, title=html.escape(title), message=html.escape(message))
    return body, 200, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
