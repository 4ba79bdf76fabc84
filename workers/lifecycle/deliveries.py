"""Processing stored webhook deliveries exactly once, and the sweep that re-enqueues stragglers."""
from __future__ import annotations

import datetime
import logging

from models.db import utcnow
from models.webhook_delivery import DATA, IGNORED, LIFECYCLE, WebhookDelivery
from runtime import metrics
from workers.lifecycle import data, salon_state
from workers.lifecycle.effects import Effect, finish
from workers.lifecycle.locking import salon_lock

logger = logging.getLogger("aiadmin.lifecycle")

LIFECYCLE_EVENTS = {"uninstall": salon_state.uninstall, "freeze": salon_state.freeze}

SWEEP_AFTER = datetime.timedelta(seconds=60)
SWEEP_BATCH = 2000


def process_delivery(delivery_id: int, *, db, waha, live=None) -> Effect | None:
    """Apply one delivery. Already processed (a duplicate message, or the sweep's re-enqueue) -> no-op."""
    delivery = WebhookDelivery.get_or_none(WebhookDelivery.id == delivery_id)
    if delivery is None:
        return None  # purged
    if delivery.processed_at is not None:
        return Effect(delivery.outcome, "already processed")
    if delivery.kind == LIFECYCLE:
        handler = LIFECYCLE_EVENTS.get(delivery.event)
        if handler is not None:
            effect = handler(db, delivery.salon_id, waha=waha, live=live, source="yclients",
                             received_at=delivery.received_at, delivery=delivery)
        else:
            effect = _finish_alone(db, delivery, Effect(IGNORED, f"event {delivery.event!r} is not handled"))
    elif delivery.kind == DATA:
        with salon_lock(db, delivery.salon_id):
            fresh = WebhookDelivery.get_by_id(delivery.id)
            if fresh.processed_at is not None:
                return Effect(fresh.outcome, "already processed")
            effect = data.apply(fresh)
            finish(fresh, effect)
    else:
        effect = _finish_alone(db, delivery, Effect(IGNORED, f"unknown kind {delivery.kind!r}"))
    metrics.webhook(delivery.kind, effect.outcome)  # applied, noop, duplicate, stale, superseded, ignored
    logger.info("webhook delivery %s (%s %s%s) -> %s", delivery.id, delivery.kind, delivery.event,
                delivery.resource, effect.outcome)
    return effect


def _finish_alone(db, delivery, effect: Effect) -> Effect:
    with salon_lock(db, delivery.salon_id or 0):
        finish(delivery, effect)
    return effect


def sweep_unprocessed(jobs, *, now: datetime.datetime | None = None, older_than: datetime.timedelta = SWEEP_AFTER,
                      limit: int = SWEEP_BATCH) -> int:
    """Re-enqueue deliveries still unprocessed `older_than` after receipt whose enqueue may have been
    lost (e.g. Redis was down at intake). Each is re-enqueued once by the sweep; a job that then fails
    for good is in the failures table for support. Enqueue first, then mark: a crash in between
    re-enqueues again, which is harmless because processing is idempotent."""
    now = now or utcnow()
    ids = [d.id for d in (WebhookDelivery.select(WebhookDelivery.id)
                          .where(WebhookDelivery.processed_at.is_null(),
                                 WebhookDelivery.requeued_at.is_null(),
                                 WebhookDelivery.received_at < now - older_than)
                          .order_by(WebhookDelivery.id).limit(limit))]
    for delivery_id in ids:
        jobs.process_webhook(delivery_id)
    if ids:
        WebhookDelivery.update(requeued_at=now).where(WebhookDelivery.id.in_(ids)).execute()
        logger.warning("re-enqueued %d unprocessed webhook deliveries", len(ids))
    return len(ids)
