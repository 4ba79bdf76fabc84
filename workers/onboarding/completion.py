"""The `complete` rule: published ONCE per activation, when the salon is active and the welcome has a final
outcome. The sync may still be running then; `complete.data.sync_running` says so, and the page keeps
showing `sync` progress until its `done` (docs/pipeline.md)."""
from __future__ import annotations

from models import salon as S
from models.outbound import FAILED, SENT, UNKNOWN, OutboundMessage
from models.salon import Salon
from models.sync_run import RUNNING, SyncRun
from models.timeline import record

KEY = "aiadmin:complete:{salon_id}:{activated}"
FINAL = (SENT, FAILED, UNKNOWN)


def welcome_key(salon_id: int) -> str:
    return f"welcome:{salon_id}"


def maybe_complete(salon_id: int, deps) -> bool:
    salon = Salon.get_or_none(Salon.salon_id == salon_id)
    if salon is None or salon.state != S.ACTIVE or salon.activated_at is None:
        return False
    welcome = OutboundMessage.get_or_none(OutboundMessage.key == welcome_key(salon_id))
    if welcome is None or welcome.status not in FINAL:
        return False
    sync_running = SyncRun.select().where((SyncRun.salon_id == salon_id) & (SyncRun.status == RUNNING)).exists()
    last = SyncRun.select().where(SyncRun.salon_id == salon_id).order_by(SyncRun.id.desc()).first()
    if last is None:
        sync_running = True  # enqueued but not started yet
    # Once per activation: a reinstall gets a new activated_at and may complete again.
    key = KEY.format(salon_id=salon_id, activated=int(salon.activated_at.timestamp()))
    if not deps.redis.set(key, "1", nx=True, ex=30 * 86400):
        return False
    record(salon_id, "onboarding_complete", "worker", sync_running=sync_running, welcome=welcome.status)
    # Words from the catalogue (web/marketplace/messages.py): "all done" only once the sync is done too.
    deps.live.publish(salon_id, "complete", {"sync_running": sync_running, "welcome": welcome.status,
                                             "code": "complete_syncing" if sync_running else "complete"})
    return True
