"""What processing a delivery did, and the helpers every lifecycle service shares."""
from __future__ import annotations

import logging
from dataclasses import dataclass

import redis
from peewee import PostgresqlDatabase

from models.db import utcnow
from models.salon import Salon
from models.webhook_delivery import WebhookDelivery

logger = logging.getLogger("aiadmin.lifecycle")


@dataclass(frozen=True)
class Effect:
    outcome: str
    detail: str = ""


def finish(delivery: WebhookDelivery | None, effect: Effect) -> None:
    """Mark a delivery processed; the `processed_at IS NULL` guard makes a second finish a no-op.
    Call it inside the same transaction as the change it records."""
    if delivery is None:
        return
    (WebhookDelivery
     .update(processed_at=utcnow(), outcome=effect.outcome, detail=effect.detail[:500])
     .where(WebhookDelivery.id == delivery.id, WebhookDelivery.processed_at.is_null())
     .execute())


def locked_salon(db, salon_id: int) -> Salon | None:
    """Re-read the salon inside a salon_lock transaction (PostgreSQL: also lock the row against a
    concurrent redirect, which locks it with FOR UPDATE)."""
    query = Salon.select().where(Salon.salon_id == salon_id)
    if isinstance(getattr(db, "obj", db), PostgresqlDatabase):
        query = query.for_update()
    return query.first()


def superseded(salon: Salon, received_at) -> bool:
    """The owner (re)installed after this delivery reached us: it must not undo that install."""
    return received_at is not None and salon.registered_at is not None and salon.registered_at > received_at


def publish(live, salon_id: int, event_type: str, data: dict, state: str, keep: bool = True) -> None:
    """Live status is advisory (the database is the truth): a Redis outage must not undo or repeat
    a committed transition, so it is logged, not raised."""
    if live is None:
        return
    try:
        live.publish(salon_id, event_type, data, state=state)
        if not keep:
            live.clear(salon_id, "error")
    except redis.RedisError as exc:
        logger.warning("could not publish %s for salon %s: %s", event_type, salon_id, exc.__class__.__name__)
