"""Outbound WhatsApp messages; a once-only message (the welcome) has a unique key."""
from __future__ import annotations

from peewee import BigIntegerField, CharField, DateTimeField, TextField

from models.base import BaseModel
from models.db import utcnow

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
UNKNOWN = "unknown"  # the request may have reached the gateway; never blindly retried
FAILED = "failed"


class OutboundMessage(BaseModel):
    salon_id = BigIntegerField(index=True)
    key = CharField(max_length=128, unique=True)  # e.g. "welcome:<salon_id>"
    chat_id = CharField(max_length=64)
    text = TextField()
    status = CharField(max_length=16, default=PENDING, index=True)
    gateway_message_id = CharField(max_length=128, default="")
    error = TextField(default="")
    notify_actor = CharField(max_length=128, default="")  # enqueued with the row id once the outcome is final
    created_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True)
    updated_at = DateTimeField(default=utcnow)
