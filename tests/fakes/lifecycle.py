"""Stored YCLIENTS webhook deliveries for the lifecycle tests (the gateway fake is runtime.gateway.stub)."""
from __future__ import annotations

import datetime

from models.db import utcnow
from models.webhook_delivery import WebhookDelivery
from web import webhook_auth


def store(body: dict, *, kind: str | None = None, received_at: datetime.datetime | None = None,
          auth: str = "partner_token") -> WebhookDelivery:
    """What the intake stores for `body` (see web/webhooks.py)."""
    kind = kind or ("data" if "resource" in body else "lifecycle")
    return WebhookDelivery.create(
        salon_id=body.get("salon_id") if kind == "lifecycle" else body.get("company_id"),
        kind=kind, event=body.get("event", "") if kind == "lifecycle" else "",
        resource=body.get("resource", "") if kind == "data" else "",
        status=body.get("status", "") if kind == "data" else "",
        resource_id=body.get("resource_id"), auth=auth, body_hash=webhook_auth.body_hash(body),
        body=webhook_auth.without_token(body), received_at=received_at or utcnow())
