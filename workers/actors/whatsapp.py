"""WhatsApp actors (issue: bridge). Names, queues and signatures are the contract other packages use."""
from __future__ import annotations

from workers.registry import actor

QUEUE = "whatsapp"


@actor(queue_name=QUEUE)
def start_whatsapp_session(salon_id: int) -> None:
    """Idempotently create/start the salon's gateway session (QR linking begins)."""
    raise NotImplementedError


@actor(queue_name=QUEUE, max_retries=2)
def request_pairing_code(salon_id: int, phone: str) -> None:
    """Request a pairing code for `phone` while the session awaits a link; publishes `pairing_code` or `error`."""
    raise NotImplementedError


@actor(queue_name=QUEUE)
def restart_linking(salon_id: int) -> None:
    """Restart an expired linking window (rate limited per salon)."""
    raise NotImplementedError


@actor(queue_name=QUEUE, max_retries=0)
def reconcile_whatsapp_sessions() -> None:
    """Poll the gateway's session list and repair drift (periodic)."""
    raise NotImplementedError


@actor(queue_name="outbound")
def send_whatsapp_text(outbound_id: int) -> None:
    """Paced send of an OutboundMessage row: seen, typing, then a delayed deliver_whatsapp_text."""
    raise NotImplementedError


@actor(queue_name="outbound", max_retries=3)
def deliver_whatsapp_text(outbound_id: int) -> None:
    """The actual sendText; on a final outcome enqueues the row's notify_actor(outbound_id)."""
    raise NotImplementedError
