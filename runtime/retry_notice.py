"""Tell the onboarding page, on EACH failed attempt of activation or sync, when the next attempt runs.

Dramatiq's Retries middleware decides the delay (with jitter) and re-enqueues the message; the
broker then emits `after_enqueue` with the copy that carries `eta` and `retries`. That is the one
place where the true time of the next attempt is known, so the page is told from there, instead of
showing "loading…" through ten minutes of back-off (issue 13).
"""
from __future__ import annotations

import logging

from dramatiq.middleware import Middleware

from models.sync_progress import overall_percent
from models.sync_run import RUNNING, SyncRun
from runtime.retry_state import max_attempts

logger = logging.getLogger("aiadmin.worker")


def _attempts(broker, message) -> tuple[int, int]:
    """(the attempt that just failed, all automatic attempts), both 1-based; n as support sees it."""
    return int(message.options.get("retries", 0)), max_attempts(broker, message)


def _sync_retry(live, salon_id: int, fields: dict) -> None:
    run = (SyncRun.select().where((SyncRun.salon_id == salon_id) & (SyncRun.status == RUNNING))
           .order_by(SyncRun.id.desc()).first())
    checkpoints = (run.checkpoints if run is not None else None) or {}
    entity = (run.entity if run is not None else "") or ""
    point = checkpoints.get(entity) if isinstance(checkpoints.get(entity), dict) else {}
    live.publish(salon_id, "sync", {"status": "failed", "entity": entity, "done": int(point.get("done") or 0),
                                    "total": int(point.get("total") or 0), "percent": overall_percent(checkpoints),
                                    "code": "sync_retrying", **fields})


def _activation_retry(live, salon_id: int, fields: dict) -> None:
    live.publish(salon_id, "activation", {"status": "failed", "code": "activation_retrying", **fields})


NOTICES = {"sync_salon": _sync_retry, "activate_integration": _activation_retry}


class RetryNotice(Middleware):
    """Publish `retry_at`, `attempt` and `max_attempts` when a watched actor is re-enqueued for a retry."""

    def __init__(self, live):
        self.live = live  # the worker's LiveStatus (the container's `live`)

    def after_enqueue(self, broker, message, delay):
        notice = NOTICES.get(message.actor_name)
        if notice is None or not delay or not message.options.get("retries") or not message.args:
            return  # a first send, or a deliberate delay: nothing failed
        attempt, max_attempts = _attempts(broker, message)
        eta_ms = message.options.get("eta")
        if not eta_ms:
            return
        try:
            notice(self.live, int(message.args[0]),
                   {"retry_at": round(eta_ms / 1000, 3), "attempt": attempt, "max_attempts": max_attempts})
        except Exception:  # telling the page must never lose the retry itself
            logger.exception("could not publish the retry of %s (%s)", message.actor_name, message.message_id)
