"""Staff working schedules: per salon, staff member and salon-local day, the working intervals.

This is what the assistant books into (docs/pipeline.md, "Schedules"): a day with no row was not
synced; a row with `working = False` is a day off; `intervals` are `[["10:00", "14:00"], ...]` in the
salon's local time (models/company.py), `starts_at`/`ends_at` bound the day's work in naive UTC.
"""
from __future__ import annotations

from peewee import BigIntegerField, BooleanField, DateField, DateTimeField

from models.base import BaseModel
from models.db import utcnow
from models.fields import JSONField


class StaffSchedule(BaseModel):
    salon_id = BigIntegerField()
    staff_id = BigIntegerField()  # the YCLIENTS staff id
    date = DateField()  # salon-local day
    working = BooleanField(default=False)
    intervals = JSONField(default=list)  # [["HH:MM", "HH:MM"], ...] salon-local, sorted
    starts_at = DateTimeField(null=True)  # first interval start, naive UTC
    ends_at = DateTimeField(null=True)  # last interval end, naive UTC
    data = JSONField(default=dict)  # the raw YCLIENTS day
    synced_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("salon_id", "staff_id", "date"), True),)
