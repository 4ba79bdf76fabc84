"""YCLIENTS webhook intake: verify, store the delivery, acknowledge, then enqueue its processing.

Nothing is processed on the request path. A delivery is committed before the 2xx; the actor is
enqueued after the commit; if enqueueing fails the row stays unprocessed and the clock's sweep
re-enqueues it (docs/webhooks.md).
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

from flask import Blueprint, current_app, g, jsonify, request

from models.db import utcnow
from models.webhook_delivery import DATA, LIFECYCLE, new_row
from runtime import json_limits, metrics
from web import webhook_auth
from web.context import ctx
from web.marketplace.ratelimit import limiter
from web.marketplace.session import client_ip
from web.webhook_store import DeliveryStore

STORE = "aiadmin.webhook_store"
KEYS = "aiadmin.webhook_keys"
OUTCOME = "aiadmin.webhook_outcome"  # environ key: an outcome the WSGI fast path decided, for the view to render
KEY_TTL_S = 5.0  # a rotated or removed webhook key keeps working in a web process for at most this long

logger = logging.getLogger("aiadmin.web.webhooks")

blueprint = Blueprint("webhooks", __name__)

# YCLIENTS bodies are a few KiB (a record with its services); anything far larger is not theirs.
MAX_BODY_BYTES = 256 * 1024


def _answer(status: int, **body):
    return jsonify(ok=200 <= status < 300, **body), status


# Ids are stored in BIGINT columns; anything beyond what a JavaScript number holds is not a YCLIENTS id
# (and a huge one would fail the INSERT with a 500 instead of a 400).
MAX_ID = 2 ** 53


_DIGITS = re.compile(r"-?[0-9]{1,19}")  # ASCII only: str.isdigit() accepts "²", which int() refuses


def _int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, int) and -MAX_ID <= value <= MAX_ID:
        return value
    return None


def _label(value, limit: int) -> str:
    """A short text column: no NUL (PostgreSQL text refuses it), bounded."""
    return str(value or "").replace("\x00", "")[:limit]


def _canonical(body: dict) -> str | None:
    """The body as stored (one encoding: webhook_auth.canonical), or None when it cannot be stored: JSON
    escapes can smuggle lone surrogates (`"\\ud800"`) that no database driver can encode, in the token too."""
    token = body.get("partner_token")
    try:
        if isinstance(token, str):
            token.encode("utf-8")
        return webhook_auth.canonical(body)
    except (UnicodeEncodeError, ValueError):
        return None


def _classify(body: dict) -> str | None:
    if "resource" in body:
        return DATA
    if "event" in body:
        return LIFECYCLE
    return None


# Floods (docs/security.md): an address whose requests keep being refused (bad JSON, wrong token or key) gets
# 429 instead of its refusals, but only refusals count and only refusals are limited: an authenticated
# delivery (partner token, or the salon's key URL) is never rate-limited, so YCLIENTS' own addresses keep
# delivering (lifecycle webhooks included) even while tokenless data webhooks from them are refused (issue 15).
REFUSALS_PER_IP = ("webhook:refused:ip:{ip}", 30, 60)
REFUSED = (400, 401, 403)


@dataclass(frozen=True)
class Outcome:
    """What intake decided for one request: the status, the JSON answer, and what to count and log."""

    status: int
    answer: dict
    kind: str | None = None
    salon_id: int | None = None
    metric: str | None = None  # accepted | ignored | refused | failed (webhook metrics), None: not counted
    cause: str = ""  # for the log line of a refusal or a failed store

    @property
    def body(self) -> bytes:
        if "delivery_id" in self.answer:  # the hottest answer, as jsonify(ok=True, delivery_id=...) would give it
            return b'{"delivery_id":%d,"ok":true}\n' % self.answer["delivery_id"]
        return (json.dumps({**self.answer, "ok": 200 <= self.status < 300}, ensure_ascii=False, sort_keys=True)
                + "\n").encode()


def _refused(status: int, error: str, message: str, **extra) -> Outcome:
    return Outcome(status, {"error": error, "message": message}, **extra)


@blueprint.post("/webhook/yclients")
@blueprint.post("/webhook/yclients/<key>")
def yclients_webhook(key: str | None = None):
    # Decided already by the WSGI fast path (web/webhook_wsgi.py) when it was not a 2xx: render it here,
    # with the app's hooks (refusal limit, error budget); never decided (or stored) twice.
    outcome = request.environ.pop(OUTCOME, None) or _decide_request(key)
    response = render(outcome)
    if outcome.status in REFUSED:
        # Only a refusal touches Redis: it is counted, and refused with 429 once the address had `limit`
        # refusals within the window (the hit is not recorded then: the same answer as a look first).
        refusals_key, limit, window = REFUSALS_PER_IP
        if limiter().hit(refusals_key.format(ip=client_ip()), limit, window) > 0:
            return _answer(429, error="rate_limited", message="too many refused requests from this address")
    return response


def store(app) -> DeliveryStore:
    return app.extensions[STORE]


def keys(app) -> webhook_auth.KeyCache:
    return app.extensions[KEYS]


def init_app(app, container) -> None:
    """The process's delivery writer and key cache (one of each per web process), and the blueprint."""
    database = container.database

    def lookup(key):
        database.connect(reuse_if_open=True)  # only on a cache miss: a cached key needs no connection
        return webhook_auth.salon_of_key(key)

    app.extensions[STORE] = DeliveryStore(database, container.jobs)
    app.extensions[KEYS] = webhook_auth.KeyCache(ttl=KEY_TTL_S, lookup=lookup)
    app.register_blueprint(blueprint)


def render(outcome: Outcome):
    """Count, log and answer `outcome` inside Flask."""
    if outcome.salon_id is not None:
        g.salon_id = outcome.salon_id
    if outcome.metric == "refused":
        logger.warning("webhook refused: %s (kind=%s, salon=%s)", outcome.cause, outcome.kind, outcome.salon_id)
    elif outcome.metric == "failed":
        logger.error("database unavailable: could not store a delivery (%s)", outcome.cause)
    if outcome.metric:
        metrics.webhook(outcome.kind, outcome.metric)
    return current_app.response_class(outcome.body, outcome.status, mimetype="application/json"), outcome.status


def _decide_request(key: str | None) -> Outcome:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _refused(413, "payload_too_large", f"body exceeds {MAX_BODY_BYTES} bytes")
    # Also bounds chunked bodies with no Content-Length. Werkzeug silently TRUNCATES those at the limit, so
    # read one byte more than allowed and refuse if it came: a cut body must never be parsed and stored.
    request.max_content_length = MAX_BODY_BYTES + 1
    raw = request.get_data(cache=False)
    app = current_app
    return decide(raw, key, ctx().settings, keys(app), store(app))


def decide(raw: bytes, key: str | None, settings, key_cache: webhook_auth.KeyCache,
           writer: DeliveryStore) -> Outcome:
    """Verify, and store an accepted delivery (committed before this returns). No Flask, no logging, no
    metrics: the caller answers (Flask's view, or the WSGI fast path for a 2xx)."""
    if len(raw) > MAX_BODY_BYTES:
        return _refused(413, "payload_too_large", f"body exceeds {MAX_BODY_BYTES} bytes")
    try:
        body = json_limits.loads_object(raw, max_bytes=MAX_BODY_BYTES)  # bounded depth: no RecursionError 500
    except json_limits.BadJson as exc:
        return _refused(exc.status, exc.error, exc.message)
    canonical = _canonical(body)
    if canonical is None:
        return _refused(400, "malformed_json", "the body holds invalid unicode")

    kind = _classify(body)
    if kind is None:
        return _refused(400, "unrecognised_webhook",
                        "expected {event, salon_id, ...} or {resource, status, company_id, ...}")
    salon_id = _int(body.get("salon_id") if kind == LIFECYCLE else body.get("company_id"))
    if salon_id is None:
        field = "salon_id" if kind == LIFECYCLE else "company_id"
        return _refused(400, "invalid_payload", f"{field} must be an integer")

    verdict = webhook_auth.verify(body, kind, salon_id, settings.yclients_partner_token, key,
                                  salon_of=key_cache.salon_of)
    if not verdict.accepted:
        return _refused(verdict.status, verdict.error, verdict.message, kind=kind, salon_id=salon_id,
                        metric="refused", cause=verdict.error)

    if kind == LIFECYCLE and "application_id" in body:
        app_id = _int(body.get("application_id"))
        if app_id != settings.yclients_app_id:
            # Another application of the same partner: acknowledged so YCLIENTS does not retry, not ours.
            return Outcome(200, {"ignored": "different_application"}, kind=kind, salon_id=salon_id,
                           metric="ignored")

    # Committed (with whatever other deliveries share its transaction) before we answer; the
    # process_webhook job is enqueued after the commit by the writer (web/webhook_store.py).
    row = new_row(
        salon_id=salon_id,
        kind=kind,
        event=_label(body.get("event"), 64) if kind == LIFECYCLE else "",
        resource=_label(body.get("resource"), 64) if kind == DATA else "",
        status=_label(body.get("status"), 32) if kind == DATA else "",
        resource_id=_int(body.get("resource_id")) if kind == DATA else None,
        auth=verdict.method,
        body_hash=webhook_auth.hash_of(canonical),
        body_json=canonical,
        received_at=utcnow(),
    )
    try:
        delivery_id = writer.store(row)
    except Exception as exc:  # not stored: the sender must retry (as web/errors.py answers any database outage)
        return _refused(503, "database_unavailable", "Service temporarily unavailable, please retry shortly.",
                        kind=kind, salon_id=salon_id, metric="failed", cause=exc.__class__.__name__)
    return Outcome(200, {"delivery_id": delivery_id}, kind=kind, salon_id=salon_id, metric="accepted")
