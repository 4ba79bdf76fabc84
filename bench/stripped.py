"""Benchmark 6's what-if: the redirect with the parts other requirements ask for switched off, to measure what they
cost together (docs/performance/redirect.md, round 6). Never deployed; nothing in the app knows of it.

Switched off, each a whole part (not a slow spot) that the earlier rounds named as what 0.8x would need removed:

- web: the install's log line, its link token (a fixed string in the Location instead of a JWT), the install's
  timeline row (the registration writes the salon row alone), the live status reset before the session job;
- check worker: the shared YCLIENTS budget (no limiter call, no slot taken ahead) and our own worker middleware
  (database connection per message, log context, failure and retry records): Dramatiq's own middleware only, as
  the real worker sets it up.

Everything else is the real code: the signature, the limits, the gate, the verdict wait, the registration, the session
job, the metrics, the security headers; the real check (both YCLIENTS calls, the verdict). Run by `bench.redirect
--stripped` side by side with the real redirect, on its own Redis database so the two workers never share a queue:

    gunicorn 'bench.stripped:create_app()'        dramatiq bench.stripped:worker --queues interactive
"""
from __future__ import annotations

import logging

PARTS = ("log line", "link token", "timeline row", "live reset", "YCLIENTS budget", "worker middleware")
MARKER = "bench:stripped:worker"  # what the stripped worker switched off, written once it has (bench 6 reads it)


def _strip_web() -> None:
    from runtime.jobs import Jobs
    from web.marketplace import registration, tokens

    logging.getLogger("aiadmin.web.redirect").disabled = True
    tokens.issue = lambda *args, **kwargs: "stripped"
    registration.record = lambda *args, **kwargs: None
    start = Jobs.start_whatsapp_sessions
    Jobs.start_whatsapp_sessions = lambda self, salon_ids, *, before=(): start(self, salon_ids)


def create_app():
    """gunicorn's app factory: the real web app, stripped."""
    _strip_web()
    from web.app import create_app as real

    return real()


def worker() -> None:
    """Dramatiq's setup callable (`dramatiq bench.stripped:worker`): the real worker process, stripped."""
    from runtime import broker
    from runtime.yclients.ratelimit import SlidingWindowLimiter
    from workers.onboarding import install_check
    from workers.process import start

    ours = broker.build_middleware
    # Dramatiq's own middleware as the real worker configures it (same order, same retry settings), ours left out.
    broker.build_middleware = lambda database=None, live=None: [
        m for m in ours(database, live) if type(m).__module__.startswith("dramatiq.")]
    SlidingWindowLimiter.acquire = lambda self, caller=None: None
    install_check._limiter = lambda api: None
    start().redis.set(MARKER, ",".join(PARTS))
