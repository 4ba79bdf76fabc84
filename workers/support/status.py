"""The status report of one salon: what support needs to answer "why is my salon not connected?"."""
from __future__ import annotations

from typing import Any

from models import salon as salon_states
from models import synced
from models.failure import OPEN, REQUEUED, Failure
from models.outbound import SENT, OutboundMessage
from models.salon import Salon
from models.sync_run import SyncRun
from runtime.logs import mask_phone
from runtime.render import iso, last_line, seconds_between
from runtime.retry_state import retries_of
from workers.support.errors import NotFound

# Entity count name -> model name in models.synced (issue: pipeline). Absent models count 0.
COUNTED = (("service_categories", "ServiceCategory"), ("services", "Service"), ("staff", "Staff"),
           ("clients", "Client"), ("records", "Record"))


def get_salon(salon_id: int) -> Salon:
    salon = Salon.get_or_none(Salon.salon_id == int(salon_id))
    if salon is None:
        raise NotFound(f"unknown salon {salon_id}")
    return salon


def entity_counts(salon_id: int) -> dict[str, int]:
    """Rows we hold per entity; soft-deleted rows (webhook deletions) are not counted."""
    counts = {}
    for key, model_name in COUNTED:
        model = getattr(synced, model_name)
        query = model.select().where(model.salon_id == salon_id)
        if "deleted" in model._meta.fields:
            query = query.where(model.deleted == False)  # noqa: E712 (peewee expression)
        counts[key] = query.count()
    return counts


def activation_of(salon: Salon) -> dict[str, Any]:
    if salon.activated_at is not None:
        status = "done"
    elif salon.state == salon_states.ACTIVATION_FAILED:
        status = "failed"
    elif salon.state == salon_states.ACTIVATING:
        status = "running"
    else:
        status = "not_started"
    return {"status": status, "activated_at": iso(salon.activated_at), "attempts": salon.activation_attempts,
            "error": last_line(salon.activation_error, 300) or None}


def last_sync_of(salon_id: int, kind: str | None = None) -> dict[str, Any] | None:
    """The latest sync run (of `kind` if given): a failed full sync must stay visible behind newer incrementals."""
    query = SyncRun.select().where(SyncRun.salon_id == salon_id)
    if kind is not None:
        query = query.where(SyncRun.kind == kind)
    run = query.order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).first()
    if run is None:
        return None
    return {"id": run.id, "kind": run.kind, "status": run.status, "entity": run.entity or None,
            "started_at": iso(run.started_at), "finished_at": iso(run.finished_at),
            "duration_seconds": seconds_between(run.started_at, run.finished_at),
            "counts": run.counts or {}, "requests": run.requests, "error": last_line(run.error, 300) or None}


def welcome_of(salon: Salon) -> tuple[bool, str | None]:
    if salon.welcome_sent_at is not None:
        return True, iso(salon.welcome_sent_at)
    message = (OutboundMessage.select()
               .where((OutboundMessage.salon_id == salon.salon_id) & (OutboundMessage.key == f"welcome:{salon.salon_id}"))
               .first())
    if message is not None and message.status == SENT:
        return True, iso(message.sent_at)
    return False, None


def last_error_of(salon: Salon, retries: list[dict], syncs: list[dict | None], failure) -> dict[str, Any] | None:
    """The newest thing that went wrong: a failed attempt, a failed sync, a failed activation, an open failure."""
    found = []
    for entry in retries:
        found.append((entry["failed_at"], f"{entry['actor']} attempt {entry['attempt']} of {entry['max_attempts']}: "
                                          f"{entry['error']}", entry["actor"]))
    for sync in syncs:
        if sync and sync["status"] == "failed" and sync["error"]:
            found.append((sync["finished_at"] or sync["started_at"], f"{sync['kind']} sync: {sync['error']}",
                          "sync_salon"))
    if salon.state == salon_states.ACTIVATION_FAILED and salon.activation_error:
        found.append((iso(salon.updated_at), f"activation: {last_line(salon.activation_error, 300)}", "activation"))
    if failure is not None:
        found.append((iso(failure.created_at), f"{failure.actor_name}: {last_line(failure.error, 300)}",
                      failure.actor_name))
    found = [f for f in found if f[0]]
    if not found:
        return None
    at, text, source = max(found, key=lambda f: f[0])  # ISO strings of one format sort by time
    return {"at": at, "error": text, "source": source}


def salon_status(salon_id: int, live=None, retries: list[dict] | None = None,
                 sync_waiting: dict | None = None) -> dict[str, Any]:
    """The report as a stable dict (the `status --json` contract); `live` adds the onboarding snapshot state,
    `retries` the recorded attempts of failing jobs (workers/retry_state.read), `sync_waiting` a sync paused
    for YCLIENTS budget ({"what", "seconds_left"}, workers/sync/budget_wait.waiting_of)."""
    salon = get_salon(salon_id)
    sent, sent_at = welcome_of(salon)
    failures = Failure.select().where(Failure.salon_id == salon.salon_id)
    report = {
        "salon_id": salon.salon_id,
        "title": salon.title,
        "state": salon.state,
        "registered_at": iso(salon.registered_at),
        "whatsapp": {"state": salon.whatsapp_state, "phone": mask_phone(salon.whatsapp_phone) or None,
                     "connected_at": iso(salon.whatsapp_connected_at)},
        "activation": activation_of(salon),
        "counts": entity_counts(salon.salon_id),
        "last_sync": last_sync_of(salon.salon_id),
        "last_full_sync": last_sync_of(salon.salon_id, "full"),
        "welcome_sent": sent,
        "welcome_sent_at": sent_at,
        "open_failures": failures.where(Failure.status == OPEN).count(),
        "requeued_failures": failures.where(Failure.status == REQUEUED).count(),
        "updated_at": iso(salon.updated_at),
        "sync_waiting": sync_waiting or None,
    }
    attempts = retries_of(retries or [])
    latest_failure = failures.where(Failure.status == OPEN).order_by(Failure.created_at.desc()).first()
    problem = last_error_of(salon, attempts, [report["last_sync"], report["last_full_sync"]], latest_failure)
    pending = sorted(a["next_retry_at"] for a in attempts if a["next_retry_at"] and not a["gave_up"])
    report.update(retries=attempts, last_error=problem["error"] if problem else None,
                  last_error_at=problem["at"] if problem else None,
                  next_retry_at=pending[0] if pending else None)
    if live is not None:
        try:
            report["live_state"] = live.snapshot(salon.salon_id)["data"].get("state")
        except Exception:  # Redis down: the database answer still stands
            report["live_state"] = None
    return report


def render_status(report: dict[str, Any]) -> str:
    wa, act, sync = report["whatsapp"], report["activation"], report["last_sync"]
    lines = [
        f"Salon {report['salon_id']}" + (f" «{report['title']}»" if report.get("title") else ""),
        f"  state:          {report['state']}",
        f"  whatsapp:       {wa['state']}" + (f", {wa['phone']}" if wa["phone"] else "")
        + (f" (since {wa['connected_at']})" if wa["connected_at"] else ""),
        f"  activation:     {act['status']}" + (f" at {act['activated_at']}" if act["activated_at"] else "")
        + (f", attempts {act['attempts']}" if act["attempts"] else "") + (f": {act['error']}" if act["error"] else ""),
        "  counts:         " + ", ".join(f"{k} {v}" for k, v in report["counts"].items()),
    ]
    if sync is None:
        lines.append("  last sync:      never")
    else:
        took = f", took {sync['duration_seconds']:.1f}s" if sync["duration_seconds"] is not None else ""
        lines.append(f"  last sync:      {sync['kind']} {sync['status']} started {sync['started_at']}{took}"
                     + (f": {sync['error']}" if sync["error"] else ""))
    waiting = report.get("sync_waiting")
    if waiting:
        lines.append(f"  sync waiting:   {waiting['what']} sync waiting for YCLIENTS budget, resumes in "
                     f"~{waiting['seconds_left']:.0f}s (interactive calls go first)")
    full = report.get("last_full_sync")
    if full and (sync is None or full["id"] != sync["id"]):
        lines.append(f"  last full sync: {full['status']} started {full['started_at']}"
                     + (f": {full['error']}" if full["error"] else ""))
    for attempt in report.get("retries") or []:
        lines.append(f"  {attempt['actor'] + ':':<15} attempt {attempt['attempt']} of {attempt['max_attempts']} "
                     f"failed at {attempt['failed_at']}: {attempt['error']}"
                     + ("; no retry left" if attempt["gave_up"] else
                        f"; next retry {attempt['next_retry_at']}" if attempt["next_retry_at"] else ""))
    if report.get("last_error"):
        lines.append(f"  last error:     {report['last_error_at']} {report['last_error']}")
    if report.get("next_retry_at"):
        lines.append(f"  next retry:     {report['next_retry_at']}")
    lines.append(f"  welcome sent:   {'yes, ' + report['welcome_sent_at'] if report['welcome_sent'] else 'no'}")
    lines.append(f"  open failures:  {report['open_failures']}"
                 + (f" (+{report['requeued_failures']} re-queued)" if report["requeued_failures"] else "")
                 + ("  → aiadmin failed --salon %s" % report["salon_id"] if report["open_failures"] else ""))
    if "live_state" in report:
        lines.append(f"  live state:     {report['live_state'] or '-'}")
    return "\n".join(lines)
