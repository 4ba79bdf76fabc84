"""Sync runs: one row per full or incremental sync of a salon, with per-entity checkpoints."""
from __future__ import annotations

from peewee import BigIntegerField, CharField, DateTimeField, TextField

from models.base import BaseModel
from models.db import utcnow
from models.fields import JSONField

RUNNING = "running"
DONE = "done"
FAILED = "failed"


class SyncRun(BaseModel):
    salon_id = BigIntegerField(index=True)
    kind = CharField(max_length=16, default="full")  # full | incremental
    status = CharField(max_length=16, default=RUNNING, index=True)
    entity = CharField(max_length=32, default="")  # the entity in progress
    # {entity: {"page": n, "done": n, "total": n, "status": "pending|running|done"}}
    checkpoints = JSONField(default=dict)
    counts = JSONField(default=dict)  # final per-entity counts
    requests = BigIntegerField(default=0)  # YCLIENTS requests this run used
    error = TextField(default="")
    started_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True)
    updated_at = DateTimeField(default=utcnow)
