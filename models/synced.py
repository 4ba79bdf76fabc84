"""Salon data synced from YCLIENTS: categories, services, staff, clients, records keyed (salon, yclients_id).

Each row keeps a few typed columns for queries plus the raw YCLIENTS object in `data`. Clients and
records also carry `changed_at` (the source's last-change time, when known) and `deleted`, so an
incremental update (webhook) older than what is stored can be ignored, and a deletion is a soft flag.
"""
from __future__ import annotations

from peewee import BigIntegerField, BooleanField, CharField, DateTimeField, DecimalField, IntegerField, TextField

from models.base import BaseModel
from models.db import utcnow
from models.fields import JSONField


class SyncedEntity(BaseModel):
    salon_id = BigIntegerField()
    yclients_id = BigIntegerField()
    data = JSONField(default=dict)  # the raw YCLIENTS object
    synced_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("salon_id", "yclients_id"), True),)


class ServiceCategory(SyncedEntity):
    title = CharField(max_length=255, default="")
    weight = IntegerField(default=0)


class Service(SyncedEntity):
    category_id = BigIntegerField(null=True)  # the YCLIENTS category id
    title = CharField(max_length=255, default="")
    price_min = DecimalField(max_digits=12, decimal_places=2, null=True)
    price_max = DecimalField(max_digits=12, decimal_places=2, null=True)
    duration = IntegerField(null=True)  # seconds
    active = BooleanField(default=True)


class Staff(SyncedEntity):
    name = CharField(max_length=255, default="")
    specialization = CharField(max_length=255, default="")
    bookable = BooleanField(default=True)
    fired = BooleanField(default=False)


class Client(SyncedEntity):
    name = CharField(max_length=255, default="")
    phone = CharField(max_length=32, default="")
    email = CharField(max_length=255, default="")
    visits_count = IntegerField(default=0)
    changed_at = DateTimeField(null=True)
    deleted = BooleanField(default=False)


class Record(SyncedEntity):
    staff_id = BigIntegerField(null=True)
    client_id = BigIntegerField(null=True)
    datetime = DateTimeField(null=True, index=True)  # naive UTC
    seance_length = IntegerField(null=True)  # seconds
    attendance = IntegerField(default=0)
    comment = TextField(default="")
    changed_at = DateTimeField(null=True)
    deleted = BooleanField(default=False)


SYNCED_MODELS = [ServiceCategory, Service, Staff, Client, Record]
