"""Every job by name and the queue it runs on: what any process needs to enqueue without importing actors.

The actors themselves (workers/actors/) declare retries, time limits and `throws=`; a unit test
(tests/unit/runtime/test_job_table.py) checks this table against the actors the worker registers.
"""
from __future__ import annotations

WHATSAPP = "whatsapp"
OUTBOUND = "outbound"
ONBOARDING = "onboarding"
SYNC = "sync"
WEBHOOKS = "webhooks"
LIFECYCLE = "lifecycle"
DIAGNOSTICS = "diagnostics"
INTERACTIVE = "interactive"  # an owner waits on the redirect: never behind other work

JOBS: dict[str, str] = {
    # The redirect's install check (workers.onboarding.install_check)
    "verify_install": INTERACTIVE,
    # WhatsApp linking (bridge.linking, bridge.reconcile)
    "start_whatsapp_session": WHATSAPP,
    "request_pairing_code": WHATSAPP,
    "pairing_code_gave_up": WHATSAPP,
    "restart_linking": WHATSAPP,
    "reconcile_whatsapp_sessions": WHATSAPP,
    # Paced outbound messages (bridge.sending)
    "send_whatsapp_text": OUTBOUND,
    "deliver_whatsapp_text": OUTBOUND,
    "whatsapp_send_gave_up": OUTBOUND,
    # WhatsApp connected -> activation -> welcome (workers.onboarding)
    "on_whatsapp_connected": ONBOARDING,
    "activate_integration": ONBOARDING,
    "activation_exhausted": ONBOARDING,
    "send_welcome": ONBOARDING,
    "on_welcome_finished": ONBOARDING,
    "reconcile_onboardings": ONBOARDING,
    # Data from YCLIENTS (workers.sync)
    "sync_salon": SYNC,
    "sync_exhausted": SYNC,
    "sync_schedules": SYNC,
    "refresh_company": SYNC,
    # Stored YCLIENTS webhooks (workers.lifecycle.deliveries)
    "process_webhook": WEBHOOKS,
    # Uninstall, freeze, expiry and the clock's periodic fan-out (workers.lifecycle)
    "uninstall_salon": LIFECYCLE,
    "disconnect_salon": LIFECYCLE,
    "freeze_salon": LIFECYCLE,
    "expire_onboarding": LIFECYCLE,
    "sweep_webhook_deliveries": LIFECYCLE,
    "schedule_incremental_syncs": LIFECYCLE,
    "schedule_full_syncs": LIFECYCLE,
    "schedule_schedule_syncs": LIFECYCLE,
    "schedule_company_refreshes": LIFECYCLE,
    "expire_abandoned_onboardings": LIFECYCLE,
    # `aiadmin ping` (workers.actors.diagnostics)
    "ping": DIAGNOSTICS,
}

# Fault injection for the crash-recovery benchmark and the re-queue tests (workers.actors.fault_injection):
# only a worker started with DIAGNOSTIC_ACTORS=1 runs them, never a production one.
DIAGNOSTIC_JOBS: dict[str, str] = {
    "hold": DIAGNOSTICS,
    "fail_until": DIAGNOSTICS,
}

QUEUES: tuple[str, ...] = tuple(sorted(set(JOBS.values())))


class UnknownJob(KeyError):
    """A job name that is not in the table (a typo, or an actor added without its line here)."""


def queue_of(name: str) -> str:
    try:
        return JOBS[name] if name in JOBS else DIAGNOSTIC_JOBS[name]
    except KeyError:
        raise UnknownJob(name) from None


def known(name: str) -> bool:
    """A job some worker of ours can run (re-queue refuses the others)."""
    return name in JOBS or name in DIAGNOSTIC_JOBS
