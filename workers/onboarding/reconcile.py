"""Re-enqueue onboarding work whose message was lost (Redis restarted without persistence, an enqueue failed).

Dramatiq keeps queued messages only in Redis; the database says what should be happening. Every step
below is idempotent (state checks, per-salon leases, the welcome's unique key, sync checkpoints), so a
duplicate is harmless; the `older_than` margin only keeps us from racing work that is merely slow.
"""
from __future__ import annotations

import datetime as dt
import logging

from models import salon as S
from models.db import utcnow
from models.outbound import PENDING, OutboundMessage
from models.salon import Salon
from models.sync_run import RUNNING, SyncRun

logger = logging.getLogger("aiadmin.onboarding")

DEFAULT_OLDER_THAN = dt.timedelta(minutes=3)
# A running sync may legitimately sit still for its longest retry back-off (5 min) or a rate-limit wait
# (2 min); only a run quiet for longer than that has lost its message.
STALLED_SYNC = dt.timedelta(minutes=10)
BATCH = 500


def stuck_work(now: dt.datetime | None = None, older_than: dt.timedelta = DEFAULT_OLDER_THAN) -> list[tuple]:
    """(actor_name, salon_id, *args) for every onboarding step the database expects but nobody has done."""
    now = now or utcnow()
    cutoff = now - older_than
    work: list[tuple] = []
    # Linked on the phone, but the connected event never turned into the lifecycle move.
    for row in (Salon.select(Salon.salon_id).where(
            (Salon.state == S.PENDING_WHATSAPP) & (Salon.whatsapp_state == S.WA_CONNECTED)
            & (Salon.whatsapp_connected_at < cutoff)).limit(BATCH)):
        work.append(("on_whatsapp_connected", row.salon_id))
    # Connected or half-way through the activation call, with nothing moving for a while.
    for row in (Salon.select(Salon.salon_id).where(
            Salon.state.in_([S.WHATSAPP_CONNECTED, S.ACTIVATING]) & (Salon.updated_at < cutoff)).limit(BATCH)):
        work.append(("activate_integration", row.salon_id))
    active = (Salon.state == S.ACTIVE) & (Salon.activated_at < cutoff)
    # Active without a welcome row, or with one nobody handed to the sender.
    welcome = OutboundMessage.key.startswith("welcome:")
    has_welcome = OutboundMessage.select(OutboundMessage.salon_id).where(welcome)
    for row in Salon.select(Salon.salon_id).where(active & Salon.salon_id.not_in(has_welcome)).limit(BATCH):
        work.append(("send_welcome", row.salon_id))
    for row in (OutboundMessage.select(OutboundMessage.salon_id)
                .join(Salon, on=(OutboundMessage.salon_id == Salon.salon_id))
                .where(welcome & (OutboundMessage.status == PENDING) & (OutboundMessage.created_at < cutoff) & active)
                .limit(BATCH)):
        work.append(("send_welcome", row.salon_id))
    # Active and never synced, or a run that stopped moving (its message is gone; it resumes from checkpoints).
    has_run = SyncRun.select(SyncRun.salon_id)
    for row in Salon.select(Salon.salon_id).where(active & Salon.salon_id.not_in(has_run)).limit(BATCH):
        work.append(("sync_salon", row.salon_id, "full"))
    for run in (SyncRun.select(SyncRun.salon_id, SyncRun.kind).join(Salon, on=(SyncRun.salon_id == Salon.salon_id))
                .where((SyncRun.status == RUNNING) & (SyncRun.updated_at < now - max(older_than, STALLED_SYNC))
                       & (Salon.state == S.ACTIVE))
                .limit(BATCH)):
        work.append(("sync_salon", run.salon_id, run.kind))
    return work


def reconcile(jobs, now: dt.datetime | None = None, older_than: dt.timedelta = DEFAULT_OLDER_THAN) -> list[tuple]:
    """Enqueue every stuck step; returns what was enqueued."""
    work = stuck_work(now, older_than)
    for actor_name, *args in work:
        jobs.send(actor_name, *args)
        logger.warning("reconcile: re-enqueued %s%s (its message was lost)", actor_name, tuple(args))
    return work
