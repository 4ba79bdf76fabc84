"""Onboarding actors: the install check of the redirect, the connected handler, activation, welcome."""
from __future__ import annotations

from workers.onboarding.activation import ActivationRejected
from workers.registry import actor

QUEUE = "onboarding"


def _deps():
    from workers.onboarding.deps import from_runtime

    return from_runtime()


# The owner is waiting on the redirect: its own queue (never behind activation or welcome jobs), no Dramatiq
# retries (the page offers "try again"), a short limit.
INTERACTIVE_QUEUE = "interactive"


@actor(queue_name=INTERACTIVE_QUEUE, max_retries=0, time_limit=30_000)
def verify_install(check_id: str) -> None:
    """Ask YCLIENTS whether the redirect's branches are being installed; the verdict goes to Redis."""
    from workers.onboarding.install_check import check_install
    from workers.runtime import runtime

    rt = runtime()
    check_install(rt.service("yclients_interactive"), rt.redis, check_id)


@actor(queue_name=QUEUE, time_limit=60_000)
def on_whatsapp_connected(salon_id: int) -> None:
    """WhatsApp linked (the bridge already stored the phone): move the lifecycle on and activate."""
    from workers.onboarding.connected import on_whatsapp_connected as handle

    handle(salon_id, _deps())


# Retries: 429/5xx/timeouts raise and back off (1 s .. 2 min, 8 times); 401/422 are permanent (throws);
# when retries run out, activation_exhausted marks the salon activation_failed and tells the page.
@actor(queue_name=QUEUE, max_retries=8, min_backoff=1_000, max_backoff=120_000, time_limit=300_000,
       throws=(ActivationRejected,), on_retry_exhausted="activation_exhausted")
def activate_integration(salon_id: int) -> None:
    """POST the activation callback to YCLIENTS (idempotent; one per salon at a time)."""
    from workers.onboarding.activation import activate

    activate(salon_id, _deps())


@actor(queue_name=QUEUE, max_retries=3, time_limit=60_000)
def activation_exhausted(message_data: dict, retry_info: dict) -> None:
    """activate_integration failed for good on transient errors: record the outcome on the salon and page."""
    from workers.onboarding.activation import fail

    salon_id = int(message_data["args"][0])
    fail(salon_id, _deps(), f"YCLIENTS unavailable after {retry_info.get('retries')} retries")


@actor(queue_name=QUEUE, time_limit=60_000)
def send_welcome(salon_id: int) -> None:
    """Create the once-only welcome OutboundMessage and hand it to the paced sender."""
    from workers.onboarding.welcome import send_welcome as create

    create(salon_id, _deps())


@actor(queue_name=QUEUE, time_limit=60_000)
def on_welcome_finished(outbound_id: int) -> None:
    """The welcome's final outcome: publish `welcome`, timeline, maybe `complete`."""
    from workers.onboarding.welcome import on_welcome_finished as finished

    finished(outbound_id, _deps())


@actor(queue_name=QUEUE, max_retries=0, time_limit=60_000)
def reconcile_onboardings(older_than_s: int = 180) -> None:
    """Periodic: re-enqueue onboarding steps whose message was lost (e.g. Redis restarted); all idempotent."""
    import datetime as dt

    from workers.jobs import Jobs
    from workers.onboarding.reconcile import reconcile
    from workers.runtime import runtime

    reconcile(Jobs(runtime().broker), older_than=dt.timedelta(seconds=older_than_s))
