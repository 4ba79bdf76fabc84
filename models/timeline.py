"""Timeline events: every transition of a salon (who, what, when, data), for support."""
from __future__ import annotations

from peewee import BigIntegerField, CharField, DateTimeField

from models import prepared
from models.base import BaseModel
from models.db import utcnow
from models.fields import JSONField


class TimelineEvent(BaseModel):
    salon_id = BigIntegerField(null=True, index=True)
    kind = CharField(max_length=64)  # e.g. registration_started, whatsapp_connected, activated
    actor = CharField(max_length=64, default="system")  # owner | yclients | worker | bridge | support
    data = JSONField(default=dict)
    created_at = DateTimeField(default=utcnow, index=True)


def record(salon_id: int | None, kind: str, actor: str = "system", **data) -> None:
    # A prepared statement: the redirect writes one per press, and peewee's create rebuilt the SQL every time.
    prepared.insert(TimelineEvent, TimelineEvent(salon_id=salon_id, kind=kind, actor=actor, data=data).__data__)
