"""Activation in YCLIENTS: the partner callback, sent once per salon, with its outcome recorded.

Priority: the callback is an INTERACTIVE call in the shared YCLIENTS budget; when it would wait for budget
longer than a worker thread may hold (BudgetWait), the activation is re-enqueued with that delay
(ActivationDeferred) and keeps its place in the line of waiting interactive callers.

Idempotency: an active salon is skipped; a lease (owner = message id) lets one message at a time
call YCLIENTS; the api_key and webhook_key are generated and committed BEFORE the call and reused
by retries, so a retry never rotates them. No transaction is open across the HTTP call.
"""
from __future__ import annotations

import logging
import math
import secrets

from models import salon as S
from models.db import utcnow
from models.salon import Salon
from models.timeline import record
from workers.sync.lease import Lease
from runtime.yclients.api import ALREADY_INSTALLED
from runtime.yclients.errors import PermanentError
from runtime.yclients.ratelimit import BudgetWait
from runtime import metrics

logger = logging.getLogger("aiadmin.onboarding")

ACTIVATABLE = (S.WHATSAPP_CONNECTED, S.ACTIVATING, S.ACTIVATION_FAILED)
LEASE_TTL = 30.0  # refreshed while the holder lives; a crashed holder frees it within this


class ActivationRejected(Exception):
    """YCLIENTS refused the activation for good (401, 422, a 403 that is not 'already installed')."""


class ActivationDeferred(Exception):
    """The callback has to wait for YCLIENTS budget longer than a worker thread may hold: the actor re-enqueues
    the activation with `delay_ms` (a new message, not a retry)."""

    def __init__(self, delay_ms: int):
        super().__init__(f"activation waits {delay_ms} ms for YCLIENTS budget")
        self.delay_ms = delay_ms


def webhook_url(settings, webhook_key: str) -> str:
    return f"{settings.public_base_url}/webhook/yclients/{webhook_key}"


def activate(salon_id: int, deps) -> str:
    """Returns 'activated', 'skipped' or 'busy'; raises ActivationRejected or a transient YclientsError."""
    salon = Salon.get_or_none(Salon.salon_id == salon_id)
    if salon is None or salon.state not in ACTIVATABLE:
        logger.info("activation of salon %s skipped (state %s)", salon_id, salon and salon.state)
        return "skipped"
    lease = Lease(deps.redis, f"activation:{salon_id}", owner=deps.message_id, ttl=LEASE_TTL)
    if not lease.acquire():
        logger.info("activation of salon %s already in progress (%s)", salon_id, lease.holder())
        return "busy"
    lease.start_heartbeat()  # a long wait for budget must not let the lease lapse under a live holder
    try:
        prepared = _prepare(salon_id, deps)
        if prepared is None:
            return "skipped"
        api_key, webhook_key, first_attempt = prepared
        if first_attempt:
            deps.live.publish(salon_id, "activation", {"status": "started", "code": "activation_started"},
                              state=S.ACTIVATING)
        try:
            location = _call(salon_id, deps, api_key, webhook_key)
        except BudgetWait as exc:
            # Other owners' calls are ahead in the shared budget: come back at our turn (our place in the line is
            # kept, runtime/yclients/ratelimit.py) instead of sleeping in a worker thread. Nothing was sent; this
            # attempt does not count.
            Salon.update(activation_attempts=Salon.activation_attempts - 1).where(
                (Salon.salon_id == salon_id) & (Salon.activation_attempts > 0)).execute()
            raise ActivationDeferred(max(100, math.ceil(exc.seconds * 1000))) from None
        _succeed(salon_id, deps, location)
        return "activated"
    finally:
        lease.release()


def _prepare(salon_id, deps):
    """Commit state `activating` with the keys the call will send (new ones only if none are stored)."""
    with deps.database.atomic():
        salon = Salon.get_or_none(Salon.salon_id == salon_id)
        if salon is None or salon.state not in ACTIVATABLE:
            return None
        first_attempt = salon.state != S.ACTIVATING
        api_key = salon.api_key or secrets.token_hex(32)
        webhook_key = salon.webhook_key or secrets.token_hex(24)
        Salon.update(state=S.ACTIVATING, api_key=api_key, webhook_key=webhook_key,
                     activation_attempts=Salon.activation_attempts + 1, updated_at=utcnow()).where(
            Salon.salon_id == salon_id).execute()
        if first_attempt:
            record(salon_id, "activation_started", "worker")
    return api_key, webhook_key, first_attempt


def _call(salon_id, deps, api_key, webhook_key) -> str:
    try:
        reply = deps.api.activation_callback(salon_id, api_key, [webhook_url(deps.settings, webhook_key)])
    except PermanentError as exc:
        if exc.status == 403 and ALREADY_INSTALLED in (exc.message or "").lower():
            # Not idempotent on their side: an earlier call (maybe "failed" for us) already installed it.
            if deps.api.is_installed_and_active(salon_id):
                logger.info("salon %s: YCLIENTS says already installed and active", salon_id)
                return ""
        fail(salon_id, deps, f"{exc.status}: {exc.message or exc}")
        raise ActivationRejected(f"YCLIENTS refused activation of salon {salon_id}: {exc.status} "
                                 f"{exc.message}") from exc
    logger.info("salon %s activated in YCLIENTS (HTTP %s)", salon_id, reply.status)
    return reply.location


def _succeed(salon_id, deps, location: str) -> None:
    now = utcnow()
    with deps.database.atomic():
        Salon.update(state=S.ACTIVE, activated_at=now, activation_location=location or "", activation_error="",
                     updated_at=now).where(Salon.salon_id == salon_id).execute()
        record(salon_id, "activated", "worker", location=location or "")
    metrics.activation_finished(salon_id, "done")
    # After the commit: tell the page, then start the welcome and the sync.
    deps.live.publish(salon_id, "activation", {"status": "done", "code": "activation_done",
                                               "location": location or ""}, state=S.ACTIVE)
    deps.jobs.send_welcome(salon_id)
    deps.jobs.sync_salon(salon_id, "full")


def fail(salon_id: int, deps, error: str) -> None:
    """Mark the activation failed for good (a permanent answer, or retries exhausted)."""
    with deps.database.atomic():
        updated = Salon.update(state=S.ACTIVATION_FAILED, activation_error=error[:2000], updated_at=utcnow()).where(
            (Salon.salon_id == salon_id) & (Salon.state.in_(ACTIVATABLE))).execute()
        if updated:
            record(salon_id, "activation_failed", "worker", error=error[:500])
    if updated:
        metrics.activation_finished(salon_id, "failed")
        # The words (with the support contact) come from the catalogue, in the reader's language.
        deps.live.publish(salon_id, "activation", {"status": "failed", "code": "activation_failed"},
                          state=S.ACTIVATION_FAILED)
