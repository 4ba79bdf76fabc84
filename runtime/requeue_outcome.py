"""Worker middleware: a re-queued job that now succeeds marks its failure row `resolved`; counts failed jobs.

A re-queued job that fails for good again gets a new failure row from FailureRecorder, which keeps
the `aiadmin_requeued_from` option, so `aiadmin failed` shows which failure it repeats.
"""
from __future__ import annotations

import logging

from dramatiq.middleware import Middleware

from models.db import utcnow
from models.failure import RESOLVED, Failure
from runtime import metrics
from runtime.failures import REQUEUED_FROM

logger = logging.getLogger("aiadmin.worker")


class RequeueOutcome(Middleware):
    def after_process_message(self, broker, message, *, result=None, exception=None):
        if exception is not None and getattr(message, "failed", False):
            metrics.job_failed(message.actor_name)
        failure_id = message.options.get(REQUEUED_FROM)
        if failure_id is None or exception is not None:
            return
        try:
            Failure.update(status=RESOLVED, updated_at=utcnow()).where(Failure.id == int(failure_id)).execute()
        except Exception:  # bookkeeping must never turn a success into a failure
            logger.exception("could not mark failure %s resolved", failure_id)
        else:
            logger.info("re-queued failure %s succeeded", failure_id)
