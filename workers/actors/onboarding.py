"""Onboarding actors (issue: pipeline): the connected handler, activation, welcome."""
from __future__ import annotations

from workers.registry import actor

QUEUE = "onboarding"


@actor(queue_name=QUEUE)
def on_whatsapp_connected(salon_id: int) -> None:
    """WhatsApp linked (the bridge already stored the phone): move the lifecycle on and activate."""
    raise NotImplementedError


@actor(queue_name=QUEUE)
def activate_integration(salon_id: int) -> None:
    """POST the activation callback to YCLIENTS (idempotent; one per salon at a time)."""
    raise NotImplementedError


@actor(queue_name=QUEUE)
def send_welcome(salon_id: int) -> None:
    """Create the once-only welcome OutboundMessage and hand it to the paced sender."""
    raise NotImplementedError


@actor(queue_name=QUEUE)
def on_welcome_finished(outbound_id: int) -> None:
    """The welcome's final outcome: publish `welcome`, timeline, maybe `complete`."""
    raise NotImplementedError
