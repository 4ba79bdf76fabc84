"""Sync actors (issue: pipeline)."""
from __future__ import annotations

from workers.registry import actor


@actor(queue_name="sync", time_limit=3_600_000)
def sync_salon(salon_id: int, kind: str = "full") -> None:
    """Full (or incremental) sync of a salon's data from YCLIENTS; resumable from checkpoints."""
    raise NotImplementedError
