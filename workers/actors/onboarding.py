"""Onboarding actors: the install check of the redirect, the connected handler, activation, welcome."""
from __future__ import annotations

import datetime as dt

from workers.onboarding import activation, connected, install_check, reconcile, welcome
from workers.onboarding.activation import ActivationDeferred, ActivationRejected
from workers.onboarding.deps import Deps
from workers.process import current
from workers.registry import actor

QUEUE = "onboarding"


def _deps() -> Deps:
    # Every YCLIENTS call of onboarding is one an owner waits for: interactive priority in the shared budget.
    return Deps.of(current(), interactive=True)


# The owner is waiting on the redirect: its own queue (never behind activation or welcome jobs), no Dramatiq
# retries (the page offers "try again"), a short limit.
INTERACTIVE_QUEUE = "interactive"


# Within the worker process the check goes AFTER every other fetched job (Dramatiq priority: lower first): during a
# burst of redirects 200 checks cycle through the threads waiting for budget (up to HOLD_SECONDS each, then
# re-enqueued), and at equal priority they could hold up the session starts and activations of owners who already
# have their verdict (tests/unit/workers/test_actor_priority.py). It did not explain benchmark 2's ~100 s from
# scan to `whatsapp_connected` (docs/performance/budget-priority.md).
CHECK_PRIORITY = 10


@actor(queue_name=INTERACTIVE_QUEUE, priority=CHECK_PRIORITY, max_retries=0, time_limit=30_000)
def verify_install(check_id: str) -> None:
    """Ask YCLIENTS whether the redirect's branches are being installed; the verdict goes to Redis."""
    c = current()
    try:
        install_check.check_install(c.yclients_interactive, c.redis, check_id)
    except install_check.CheckDeferred as wait:  # other owners are ahead in the budget: our turn comes later
        c.jobs.verify_install(check_id, delay_ms=wait.delay_ms)


@actor(queue_name=QUEUE, time_limit=60_000)
def on_whatsapp_connected(salon_id: int) -> None:
    """WhatsApp linked (the bridge already stored the phone): move the lifecycle on and activate."""
    connected.on_whatsapp_connected(salon_id, _deps())


# Retries: 429/5xx/timeouts raise and back off (1 s .. 2 min, 8 times); 401/422 are permanent (throws);
# when retries run out, activation_exhausted marks the salon activation_failed and tells the page.
@actor(queue_name=QUEUE, max_retries=8, min_backoff=1_000, max_backoff=120_000, time_limit=300_000,
       throws=(ActivationRejected,), on_retry_exhausted="activation_exhausted")
def activate_integration(salon_id: int) -> None:
    """POST the activation callback to YCLIENTS (idempotent; one per salon at a time). Waiting for budget is not a
    failure: the same activation comes back with a delay (a new message, no retry burnt, no thread held)."""
    deps = _deps()
    try:
        activation.activate(salon_id, deps)
    except ActivationDeferred as wait:
        deps.jobs.activate_integration(salon_id, delay_ms=wait.delay_ms)


@actor(queue_name=QUEUE, max_retries=3, time_limit=60_000)
def activation_exhausted(message_data: dict, retry_info: dict) -> None:
    """activate_integration failed for good on transient errors: record the outcome on the salon and page."""
    salon_id = int(message_data["args"][0])
    activation.fail(salon_id, _deps(), f"YCLIENTS unavailable after {retry_info.get('retries')} retries")


@actor(queue_name=QUEUE, time_limit=60_000)
def send_welcome(salon_id: int) -> None:
    """Create the once-only welcome OutboundMessage and hand it to the paced sender."""
    welcome.send_welcome(salon_id, _deps())


@actor(queue_name=QUEUE, time_limit=60_000)
def on_welcome_finished(outbound_id: int) -> None:
    """The welcome's final outcome: publish `welcome`, timeline, maybe `complete`."""
    welcome.on_welcome_finished(outbound_id, _deps())


@actor(queue_name=QUEUE, max_retries=0, time_limit=60_000)
def reconcile_onboardings(older_than_s: int = 180) -> None:
    """Periodic: re-enqueue onboarding steps whose message was lost (e.g. Redis restarted); all idempotent."""
    reconcile.reconcile(current().jobs, older_than=dt.timedelta(seconds=older_than_s))
