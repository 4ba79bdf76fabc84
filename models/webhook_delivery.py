"""Stored YCLIENTS webhook deliveries: written before the 2xx, processed once by `process_webhook`."""
from __future__ import annotations

from peewee import BigIntegerField, CharField, DateTimeField, TextField

from models.base import BaseModel
from models.db import utcnow
from models.fields import JSONField

LIFECYCLE = "lifecycle"
DATA = "data"

# Outcomes (empty while unprocessed).
APPLIED = "applied"          # the event changed our state
NOOP = "noop"                # the state already was what the event asks for (a repeat)
DUPLICATE = "duplicate"      # identical to what is stored already (YCLIENTS repeats deliveries, I-19)
STALE = "stale"              # older than what is stored (out of order)
SUPERSEDED = "superseded"    # the salon was re-installed after this delivery was received
IGNORED = "ignored"          # not for us: unknown resource or event, unknown or uninstalled salon
OUTCOMES = (APPLIED, NOOP, DUPLICATE, STALE, SUPERSEDED, IGNORED)


class WebhookDelivery(BaseModel):
    salon_id = BigIntegerField(null=True, index=True)
    kind = CharField(max_length=16)  # lifecycle | data
    event = CharField(max_length=64, default="")  # lifecycle: uninstall | freeze | ...
    resource = CharField(max_length=64, default="")  # data: record | client | ...
    status = CharField(max_length=32, default="")  # data: create | update | delete
    resource_id = BigIntegerField(null=True)
    auth = CharField(max_length=16, default="")  # how its origin was proven: partner_token | webhook_key
    body_hash = CharField(max_length=64, index=True)  # sha256 of the canonical body (partner token removed)
    body = JSONField(default=dict)  # the parsed body, never with the partner token
    received_at = DateTimeField(default=utcnow, index=True)
    requeued_at = DateTimeField(null=True)  # last time the sweep re-enqueued it
    processed_at = DateTimeField(null=True, index=True)
    outcome = CharField(max_length=16, default="")
    detail = TextField(default="")
