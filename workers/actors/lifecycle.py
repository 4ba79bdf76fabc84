"""Webhook and lifecycle actors (issue: webhooks). Thin: ids in, a workers.lifecycle service does the work."""
from __future__ import annotations

from bridge.errors import PermanentGatewayError
from workers.registry import actor
from workers.runtime import runtime
from workers.yclients.errors import PermanentError

QUEUE = "webhooks"
LIFECYCLE_QUEUE = "lifecycle"
# A gateway refusal that retrying cannot fix (e.g. a wrong WAHA API key) goes straight to the
# failures table for support; transient gateway errors raise and are retried.
PERMANENT = (PermanentGatewayError,)


def _deps():
    rt = runtime()
    return {"db": rt.database, "waha": rt.service("waha"), "live": rt.live}


def _jobs():
    from workers.jobs import Jobs

    return Jobs(runtime().broker)


@actor(queue_name=QUEUE, time_limit=60_000, throws=PERMANENT)
def process_webhook(delivery_id: int) -> None:
    """Apply one stored YCLIENTS webhook delivery (idempotent). Gateway errors raise, so Retries retries."""
    from workers.lifecycle.deliveries import process_delivery

    process_delivery(delivery_id, **_deps())


@actor(queue_name=LIFECYCLE_QUEUE, time_limit=60_000, throws=PERMANENT)
def uninstall_salon(salon_id: int) -> None:
    """Support/partner-initiated uninstall: the same effect as YCLIENTS' `uninstall` webhook."""
    from workers.lifecycle.salon_state import uninstall

    uninstall(salon_id=salon_id, source="support", **_deps())


@actor(queue_name=LIFECYCLE_QUEUE, time_limit=60_000, throws=PERMANENT + (PermanentError,))
def disconnect_salon(salon_id: int) -> None:
    """Partner-side disconnect: uninstall the app in YCLIENTS, then locally (what `aiadmin disconnect` does).
    A YCLIENTS refusal (4xx) changes nothing here and goes to `aiadmin failed`."""
    from workers.lifecycle.disconnect import disconnect

    disconnect(api=runtime().service("yclients"), salon_id=salon_id, source="support", **_deps())


@actor(queue_name=LIFECYCLE_QUEUE, time_limit=60_000, throws=PERMANENT)
def freeze_salon(salon_id: int) -> None:
    """Support-initiated freeze: the same effect as YCLIENTS' `freeze` webhook."""
    from workers.lifecycle.salon_state import freeze

    freeze(salon_id=salon_id, source="support", **_deps())


@actor(queue_name=LIFECYCLE_QUEUE, time_limit=60_000, throws=PERMANENT)
def expire_onboarding(salon_id: int) -> None:
    """Stop the linking session of an onboarding left waiting for WhatsApp too long (once per install)."""
    from workers.lifecycle.salon_state import expire_onboarding as expire

    expire(salon_id=salon_id, **_deps())


# -- periodic fan-out, enqueued by the clock (workers/clock.py) ------------------------------------

@actor(queue_name=LIFECYCLE_QUEUE, max_retries=0, time_limit=60_000)
def sweep_webhook_deliveries() -> None:
    """Re-enqueue deliveries left unprocessed for over a minute (their enqueue may have been lost)."""
    from workers.lifecycle.deliveries import sweep_unprocessed

    sweep_unprocessed(_jobs())


@actor(queue_name=LIFECYCLE_QUEUE, max_retries=0, time_limit=60_000)
def schedule_incremental_syncs() -> None:
    """`sync_salon(id, "incremental")` for every active salon."""
    from workers.lifecycle.periodic import enqueue_syncs

    enqueue_syncs(_jobs(), "incremental")


@actor(queue_name=LIFECYCLE_QUEUE, max_retries=0, time_limit=60_000)
def schedule_full_syncs() -> None:
    """The nightly full reconcile: `sync_salon(id, "full")` for every active salon, starts staggered."""
    from workers.lifecycle.periodic import FULL_SYNC_STAGGER_MS, enqueue_syncs

    enqueue_syncs(_jobs(), "full", stagger_ms=FULL_SYNC_STAGGER_MS)


@actor(queue_name=LIFECYCLE_QUEUE, max_retries=0, time_limit=60_000)
def schedule_schedule_syncs() -> None:
    """`sync_schedules(id)` for every active salon: staff working intervals for the next 30 days."""
    from workers.lifecycle.periodic import enqueue_schedule_syncs

    enqueue_schedule_syncs(_jobs())


@actor(queue_name=LIFECYCLE_QUEUE, max_retries=0, time_limit=60_000)
def schedule_company_refreshes() -> None:
    """`refresh_company(id)` for every active salon whose company card is a week old."""
    from workers.lifecycle.periodic import enqueue_company_refreshes

    enqueue_company_refreshes(_jobs())


@actor(queue_name=LIFECYCLE_QUEUE, max_retries=0, time_limit=60_000)
def expire_abandoned_onboardings() -> None:
    """`expire_onboarding(id)` for every salon stuck in `pending_whatsapp` for over 24 h."""
    from workers.lifecycle.periodic import enqueue_expiries

    enqueue_expiries(_jobs())
