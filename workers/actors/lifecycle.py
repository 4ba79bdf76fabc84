"""Webhook and lifecycle actors (issue: webhooks). Thin: ids in, a workers.lifecycle service does the work."""
from __future__ import annotations

from runtime.gateway.errors import PermanentGatewayError
from runtime.yclients.errors import PermanentError
from workers.lifecycle import deliveries, disconnect, periodic, salon_state
from workers.process import current
from workers.registry import actor

QUEUE = "webhooks"
LIFECYCLE_QUEUE = "lifecycle"
# A gateway refusal that retrying cannot fix (e.g. a wrong WAHA API key) goes straight to the
# failures table for support; transient gateway errors raise and are retried.
PERMANENT = (PermanentGatewayError,)


def _parts() -> dict:
    """What the lifecycle services take: the database, the gateway and live status."""
    c = current()
    return {"db": c.database, "waha": c.gateway, "live": c.live}


@actor(queue_name=QUEUE, time_limit=60_000, throws=PERMANENT)
def process_webhook(delivery_id: int) -> None:
    """Apply one stored YCLIENTS webhook delivery (idempotent). Gateway errors raise, so Retries retries."""
    deliveries.process_delivery(delivery_id, **_parts())


@actor(queue_name=LIFECYCLE_QUEUE, time_limit=60_000, throws=PERMANENT)
def uninstall_salon(salon_id: int) -> None:
    """Support/partner-initiated uninstall: the same effect as YCLIENTS' `uninstall` webhook."""
    salon_state.uninstall(salon_id=salon_id, source="support", **_parts())


@actor(queue_name=LIFECYCLE_QUEUE, time_limit=60_000, throws=PERMANENT + (PermanentError,))
def disconnect_salon(salon_id: int) -> None:
    """Partner-side disconnect: uninstall the app in YCLIENTS, then locally (what `aiadmin disconnect` does).
    A YCLIENTS refusal (4xx) changes nothing here and goes to `aiadmin failed`."""
    disconnect.disconnect(api=current().yclients_interactive, salon_id=salon_id, source="support", **_parts())


@actor(queue_name=LIFECYCLE_QUEUE, time_limit=60_000, throws=PERMANENT)
def freeze_salon(salon_id: int) -> None:
    """Support-initiated freeze: the same effect as YCLIENTS' `freeze` webhook."""
    salon_state.freeze(salon_id=salon_id, source="support", **_parts())


@actor(queue_name=LIFECYCLE_QUEUE, time_limit=60_000, throws=PERMANENT)
def expire_onboarding(salon_id: int) -> None:
    """Stop the linking session of an onboarding left waiting for WhatsApp too long (once per install)."""
    salon_state.expire_onboarding(salon_id=salon_id, **_parts())


# -- periodic fan-out, enqueued by the clock (workers/clock.py) ------------------------------------

@actor(queue_name=LIFECYCLE_QUEUE, max_retries=0, time_limit=60_000)
def sweep_webhook_deliveries() -> None:
    """Re-enqueue deliveries left unprocessed for over a minute (their enqueue may have been lost)."""
    deliveries.sweep_unprocessed(current().jobs)


@actor(queue_name=LIFECYCLE_QUEUE, max_retries=0, time_limit=60_000)
def schedule_incremental_syncs() -> None:
    """`sync_salon(id, "incremental")` for every active salon."""
    periodic.enqueue_syncs(current().jobs, "incremental")


@actor(queue_name=LIFECYCLE_QUEUE, max_retries=0, time_limit=60_000)
def schedule_full_syncs() -> None:
    """The nightly full reconcile: `sync_salon(id, "full")` for every active salon, starts staggered."""
    periodic.enqueue_syncs(current().jobs, "full", stagger_ms=periodic.FULL_SYNC_STAGGER_MS)


@actor(queue_name=LIFECYCLE_QUEUE, max_retries=0, time_limit=60_000)
def schedule_schedule_syncs() -> None:
    """`sync_schedules(id)` for every active salon: staff working intervals for the next 30 days."""
    periodic.enqueue_schedule_syncs(current().jobs)


@actor(queue_name=LIFECYCLE_QUEUE, max_retries=0, time_limit=60_000)
def schedule_company_refreshes() -> None:
    """`refresh_company(id)` for every active salon whose company card is a week old."""
    periodic.enqueue_company_refreshes(current().jobs)


@actor(queue_name=LIFECYCLE_QUEUE, max_retries=0, time_limit=60_000)
def expire_abandoned_onboardings() -> None:
    """`expire_onboarding(id)` for every salon stuck in `pending_whatsapp` for over 24 h."""
    periodic.enqueue_expiries(current().jobs)
