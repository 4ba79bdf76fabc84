"""A salon's history in order: timeline events, with failed jobs interleaved, readable or as JSON."""
from __future__ import annotations

from typing import Any

from models.failure import Failure
from models.timeline import TimelineEvent
from runtime.logs import redact
from runtime.render import iso, last_line
from workers.support.status import get_salon


def _redacted(data: dict) -> dict:
    """Timeline data is written by many packages; redact strings on the way out (phones, tokens)."""
    return {k: redact(v) if isinstance(v, str) else v for k, v in data.items()}


def timeline(salon_id: int) -> list[dict[str, Any]]:
    salon = get_salon(salon_id)
    entries = [
        {"at": e.created_at, "id": e.id, "source": "timeline", "kind": e.kind, "actor": e.actor,
         "data": _redacted(e.data or {})}
        for e in TimelineEvent.select().where(TimelineEvent.salon_id == salon.salon_id)
    ]
    # Failed jobs are not always timeline events; support needs them in the same story.
    entries += [
        {"at": f.created_at, "id": f.id, "source": "failure", "kind": "job_failed", "actor": "worker",
         "data": {"failure_id": f.id, "job": f.actor_name, "error": last_line(f.error, 300),
                  "attempts": f.attempts, "status": f.status}}
        for f in Failure.select().where(Failure.salon_id == salon.salon_id)
    ]
    entries.sort(key=lambda e: (e["at"], e["source"] != "timeline", e["id"]))
    return [{**e, "at": iso(e["at"])} for e in entries]


def render_timeline(salon_id: int, entries: list[dict[str, Any]]) -> str:
    if not entries:
        return f"Salon {salon_id}: no events yet"
    lines = [f"Salon {salon_id}: {len(entries)} events"]
    for e in entries:
        data = ", ".join(f"{k}={v}" for k, v in sorted(e["data"].items()) if v not in (None, "", {}, []))
        lines.append(f"  {e['at']}  {e['kind']:<24} by {e['actor']:<8} {redact(data)}".rstrip())
    return "\n".join(lines)
