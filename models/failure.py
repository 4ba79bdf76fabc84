"""Failures: jobs that exhausted their retries or hit a permanent error, kept so support can re-queue them."""
from __future__ import annotations

from peewee import BigIntegerField, BooleanField, CharField, DateTimeField, IntegerField, TextField

from models.base import BaseModel
from models.db import utcnow
from models.fields import JSONField

OPEN = "open"
REQUEUED = "requeued"
RESOLVED = "resolved"


class Failure(BaseModel):
    salon_id = BigIntegerField(null=True, index=True)
    actor_name = CharField(max_length=128)
    queue_name = CharField(max_length=128)
    message_id = CharField(max_length=64, index=True)
    redis_message_id = CharField(max_length=64, default="")  # its id in the broker's dead-letter set
    args = JSONField(default=list)
    kwargs = JSONField(default=dict)
    options = JSONField(default=dict)
    error_type = CharField(max_length=128, default="")
    error = TextField(default="")
    attempts = IntegerField(default=1)
    permanent = BooleanField(default=False)
    status = CharField(max_length=16, default=OPEN, index=True)
    requeue_count = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
