"""Listing failed jobs for support: actor, salon, error, attempts, time, status."""
from __future__ import annotations

import re
from typing import Any, Iterable

from models.failure import OPEN, REQUEUED, RESOLVED, Failure
from runtime.failures import REQUEUED_FROM
from runtime.render import iso, last_line, table
from workers.support.errors import NotFound

STATUSES = (OPEN, REQUEUED, RESOLVED)
_MODULE_PATH = re.compile(r"^(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_]\w*(?::|$))")


def get_failure(failure_id: int) -> Failure:
    failure = Failure.get_or_none(Failure.id == int(failure_id))
    if failure is None:
        raise NotFound(f"unknown failure {failure_id}")
    return failure


def failures(salon_id: int | None = None, statuses: Iterable[str] = (OPEN, REQUEUED)) -> list[Failure]:
    query = Failure.select().where(Failure.status.in_(list(statuses)))
    if salon_id is not None:
        query = query.where(Failure.salon_id == int(salon_id))
    return list(query.order_by(Failure.created_at, Failure.id))


def failure_dict(f: Failure) -> dict[str, Any]:
    return {
        "id": f.id, "actor": f.actor_name, "queue": f.queue_name, "salon_id": f.salon_id,
        "args": f.args, "kwargs": f.kwargs, "error_type": f.error_type, "error": last_line(f.error, 500),
        "attempts": f.attempts, "permanent": f.permanent, "status": f.status, "requeue_count": f.requeue_count,
        "requeued_from": (f.options or {}).get(REQUEUED_FROM), "message_id": f.message_id,
        "created_at": iso(f.created_at), "updated_at": iso(f.updated_at),
    }


def unqualified(line: str) -> str:
    """`workers.sync.salon_sync.SyncAccessDenied: …` -> `SyncAccessDenied: …`: the words support reads come first."""
    return _MODULE_PATH.sub("", line or "", count=1)


def render_failures(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no failures"
    body = [[str(r["id"]), r["created_at"] or "", r["actor"], str(r["salon_id"] or "-"), str(r["attempts"]),
             r["status"] + (f" x{r['requeue_count']}" if r["requeue_count"] else ""),
             last_line(unqualified(last_line(r["error"], 2000)), 70)] for r in rows]
    return table(body, ["ID", "TIME", "ACTOR", "SALON", "ATTEMPTS", "STATUS", "ERROR"])
