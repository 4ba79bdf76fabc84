"""Enqueueing work from any process (web, bridge, clock, CLI, workers), always after the database commit.

Built on the job table alone: no actor module is imported, so web and the bridge load none of the
worker's code. A message built here is exactly what `Actor.send_with_options` would enqueue. Each job
has a typed method named like its actor (same parameters), so a reader and a tool can follow an id
from the caller to the actor; `send(name, ...)` is for callers that hold a name (the clock's schedule,
re-queue, a row's `notify_actor`). The `*_gave_up` / `*_exhausted` jobs have no method: Dramatiq's
Retries enqueues them (`on_retry_exhausted`), never our code.
"""
from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from runtime.broker import ScriptedEnqueue, enqueue_many, scripted_enqueue
from runtime.job_table import QUEUES, queue_of


class Jobs:
    def __init__(self, broker: dramatiq.Broker):
        self.broker = broker
        for queue in QUEUES:  # a stub broker refuses undeclared queues; Redis just records the name
            broker.declare_queue(queue)

    def send(self, job: str, *args: Any, delay_ms: int | None = None, **kwargs: Any) -> dramatiq.Message:
        return self.send_with_options(job, args=args, kwargs=kwargs, delay_ms=delay_ms)

    def send_with_options(self, job: str, *, args: tuple = (), kwargs: dict | None = None,
                          delay_ms: int | None = None, **options: Any) -> dramatiq.Message:
        """`send` with message options (e.g. `max_retries`), which override the actor's for this message."""
        message = dramatiq.Message(queue_name=queue_of(job), actor_name=job, args=tuple(args),
                                   kwargs=dict(kwargs or {}), options=options)
        return self.broker.enqueue(message, delay=delay_ms)

    # interactive: workers.onboarding.install_check (the owner waits on the redirect)
    def verify_install(self, check_id: str, *, delay_ms: int | None = None):
        return self.send("verify_install", check_id, delay_ms=delay_ms)

    def verify_install_in_script(self, check_id: str) -> ScriptedEnqueue | None:
        """`verify_install` for the redirect's check gate to enqueue in its own script, only if it opens the
        check (no round trip of its own); None without a Redis broker: then `verify_install` after the gate."""
        return scripted_enqueue(self.broker, self._message("verify_install", (check_id,)))

    # whatsapp: bridge.linking, bridge.reconcile
    def start_whatsapp_session(self, salon_id: int):
        return self.send("start_whatsapp_session", salon_id)

    def start_whatsapp_sessions(self, salon_ids: list[int], *, before=()) -> None:
        """`start_whatsapp_session` for each salon, after the `before` script calls ((script, keys, args): the
        redirect's live resets), all in ONE Redis round trip on a Redis broker (its Redis is the app's)."""
        if not isinstance(self.broker, RedisBroker):
            for script, keys, args in before:
                script(keys=keys, args=args)
            for salon_id in salon_ids:
                self.start_whatsapp_session(salon_id)
            return
        enqueue_many(self.broker, [self._message("start_whatsapp_session", (salon_id,)) for salon_id in salon_ids],
                     before=before)

    def request_pairing_code(self, salon_id: int, phone: str):
        return self.send("request_pairing_code", salon_id, phone)

    def restart_linking(self, salon_id: int):
        return self.send("restart_linking", salon_id)

    def reconcile_whatsapp_sessions(self):
        return self.send("reconcile_whatsapp_sessions")

    # outbound: bridge.sending (paced; `delay_ms` is the pacing)
    def send_whatsapp_text(self, outbound_id: int, *, delay_ms: int | None = None):
        return self.send("send_whatsapp_text", outbound_id, delay_ms=delay_ms)

    def deliver_whatsapp_text(self, outbound_id: int, *, delay_ms: int | None = None):
        return self.send("deliver_whatsapp_text", outbound_id, delay_ms=delay_ms)

    # onboarding: workers.onboarding
    def on_whatsapp_connected(self, salon_id: int):
        return self.send("on_whatsapp_connected", salon_id)

    def activate_integration(self, salon_id: int, *, delay_ms: int | None = None):
        return self.send("activate_integration", salon_id, delay_ms=delay_ms)

    def send_welcome(self, salon_id: int):
        return self.send("send_welcome", salon_id)

    def on_welcome_finished(self, outbound_id: int):
        return self.send("on_welcome_finished", outbound_id)

    def reconcile_onboardings(self, older_than_s: int = 180):
        return self.send("reconcile_onboardings", older_than_s)

    # sync: workers.sync
    def sync_salon(self, salon_id: int, kind: str = "full", run_id: int = 0, *, delay_ms: int | None = None):
        # run_id only when continuing a run (a re-enqueue while waiting for YCLIENTS budget)
        return self.send("sync_salon", salon_id, kind, *((run_id,) if run_id else ()), delay_ms=delay_ms)

    def sync_schedules(self, salon_id: int, after_staff: int = 0, *, delay_ms: int | None = None):
        return self.send("sync_schedules", salon_id, *((after_staff,) if after_staff else ()), delay_ms=delay_ms)

    def refresh_company(self, salon_id: int, *, delay_ms: int | None = None):
        return self.send("refresh_company", salon_id, delay_ms=delay_ms)

    # webhooks and lifecycle: workers.lifecycle
    def process_webhook(self, delivery_id: int):
        return self.send("process_webhook", delivery_id)

    def process_webhooks(self, delivery_ids: list[int]) -> None:
        """`process_webhook` for each id, in one Redis round trip on a Redis broker (web intake's batches)."""
        if not isinstance(self.broker, RedisBroker):
            for delivery_id in delivery_ids:
                self.process_webhook(delivery_id)
            return
        enqueue_many(self.broker, [self._message("process_webhook", (delivery_id,)) for delivery_id in delivery_ids])

    @staticmethod
    def _message(job: str, args: tuple) -> dramatiq.Message:
        return dramatiq.Message(queue_name=queue_of(job), actor_name=job, args=args, kwargs={}, options={})

    def uninstall_salon(self, salon_id: int):
        return self.send("uninstall_salon", salon_id)

    def disconnect_salon(self, salon_id: int):
        return self.send("disconnect_salon", salon_id)

    def freeze_salon(self, salon_id: int):
        return self.send("freeze_salon", salon_id)

    def expire_onboarding(self, salon_id: int):
        return self.send("expire_onboarding", salon_id)

    def sweep_webhook_deliveries(self):
        return self.send("sweep_webhook_deliveries")

    def schedule_incremental_syncs(self):
        return self.send("schedule_incremental_syncs")

    def schedule_full_syncs(self):
        return self.send("schedule_full_syncs")

    def schedule_schedule_syncs(self):
        return self.send("schedule_schedule_syncs")

    def schedule_company_refreshes(self):
        return self.send("schedule_company_refreshes")

    def expire_abandoned_onboardings(self):
        return self.send("expire_abandoned_onboardings")

    # diagnostics: `aiadmin ping`; hold / fail_until only run on a worker with DIAGNOSTIC_ACTORS=1 (tests, bench)
    def ping(self, token: str, sent_at: float):
        return self.send("ping", token, sent_at)

    def hold(self, token: str, seconds: float):
        return self.send("hold", token, seconds)

    def fail_until(self, key: str, salon_id: int | None = None):
        return self.send("fail_until", key, salon_id=salon_id)
