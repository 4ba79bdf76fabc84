"""WhatsApp actors (issue: bridge). Names, queues and signatures are the contract other packages use.

Thin on purpose: options here, behaviour in bridge.linking / bridge.sending / bridge.reconcile.
"""
from __future__ import annotations

from bridge import linking, reconcile, sending
from bridge.linking import LinkDeps
from bridge.sending import SendDeps
from runtime.gateway.errors import AmbiguousSend, PermanentGatewayError
from workers.process import current
from workers.registry import actor

QUEUE = "whatsapp"


@actor(queue_name=QUEUE, time_limit=60_000, throws=(PermanentGatewayError, LookupError))
def start_whatsapp_session(salon_id: int) -> None:
    """Idempotently create/start the salon's gateway session (QR linking begins)."""
    linking.start_session(LinkDeps.of(current()), salon_id)


@actor(queue_name=QUEUE, max_retries=2, time_limit=60_000, min_backoff=500, max_backoff=3_000,
       on_retry_exhausted="pairing_code_gave_up")
def request_pairing_code(salon_id: int, phone: str) -> None:
    """Request a pairing code for `phone` while the session awaits a link; publishes `pairing_code` or `error`."""
    linking.request_pairing_code(LinkDeps.of(current()), salon_id, phone)


@actor(queue_name=QUEUE, max_retries=0, time_limit=30_000)
def pairing_code_gave_up(message_data: dict, retry_info: dict) -> None:
    """The gateway never answered the code request: tell the page to fall back to the QR code."""
    linking.pairing_code_failed(LinkDeps.of(current()), int(message_data["args"][0]))


@actor(queue_name=QUEUE, time_limit=60_000, throws=(PermanentGatewayError, LookupError))
def restart_linking(salon_id: int) -> None:
    """Restart an expired linking window (rate limited per salon)."""
    linking.restart_linking(LinkDeps.of(current()), salon_id)


@actor(queue_name=QUEUE, max_retries=0, time_limit=300_000)
def reconcile_whatsapp_sessions() -> None:
    """Poll the gateway's session list and repair drift (periodic)."""
    reconcile.reconcile(LinkDeps.of(current()))


@actor(queue_name="outbound", time_limit=60_000, on_retry_exhausted="whatsapp_send_gave_up")
def send_whatsapp_text(outbound_id: int) -> None:
    """Paced send of an OutboundMessage row: seen, typing, then a delayed deliver_whatsapp_text."""
    sending.schedule_send(SendDeps.of(current()), outbound_id)


# AmbiguousSend / restrictions are final (recorded as failures for support), never retried:
# WAHA has no idempotency key, so a retry after the request went out could send twice.
@actor(queue_name="outbound", max_retries=3, time_limit=60_000, throws=(AmbiguousSend, PermanentGatewayError),
       on_retry_exhausted="whatsapp_send_gave_up")
def deliver_whatsapp_text(outbound_id: int) -> None:
    """The actual sendText; on a final outcome enqueues the row's notify_actor(outbound_id)."""
    sending.deliver(SendDeps.of(current()), outbound_id)


@actor(queue_name="outbound", max_retries=3, time_limit=30_000)
def whatsapp_send_gave_up(message_data: dict, retry_info: dict) -> None:
    """Retries of a send job ran out before anything went out: mark the row failed and notify."""
    outbound_id = int(message_data["args"][0])
    sending.give_up(SendDeps.of(current()), outbound_id,
                    f"gateway unavailable: {message_data.get('actor_name')} gave up after "
                    f"{retry_info.get('retries')} retries")
