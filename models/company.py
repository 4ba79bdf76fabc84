"""The salon's company card from YCLIENTS (`GET /company/{id}`): title, contacts, timezone, working hours.

One row per salon. The timezone is what every offset-less YCLIENTS time is read in (records, schedules,
the records window); `Europe/Moscow` until the card is first stored, the same default YCLIENTS uses.
"""
from __future__ import annotations

from peewee import BigIntegerField, CharField, DateTimeField

from models.base import BaseModel
from models.db import utcnow
from models.fields import JSONField

DEFAULT_TIMEZONE = "Europe/Moscow"


class Company(BaseModel):
    salon_id = BigIntegerField(primary_key=True)
    title = CharField(max_length=255, default="")
    phone = CharField(max_length=64, default="")
    email = CharField(max_length=255, default="")
    address = CharField(max_length=512, default="")
    city = CharField(max_length=255, default="")
    timezone = CharField(max_length=64, default=DEFAULT_TIMEZONE)  # IANA name (YCLIENTS `timezone_name`)
    working_hours = JSONField(default=dict)  # YCLIENTS `schedule`, as given (a text or a structure)
    currency = CharField(max_length=16, default="")
    data = JSONField(default=dict)  # the raw company object
    synced_at = DateTimeField(default=utcnow)
