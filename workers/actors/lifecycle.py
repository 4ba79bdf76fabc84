"""Webhook and lifecycle actors (issue: webhooks)."""
from __future__ import annotations

from workers.registry import actor


@actor(queue_name="webhooks")
def process_webhook(delivery_id: int) -> None:
    """Apply one stored YCLIENTS webhook delivery (idempotent)."""
    raise NotImplementedError
