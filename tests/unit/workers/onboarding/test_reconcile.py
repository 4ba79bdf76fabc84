"""Onboarding reconciliation: each step whose message was lost is found once it is stale, and only then."""
import datetime as dt

from models import salon as S
from models.db import utcnow
from models.outbound import PENDING, SENT, OutboundMessage
from models.salon import Salon
from models.sync_run import DONE, RUNNING, SyncRun
from runtime.stub_jobs import StubJobs
from workers.onboarding.reconcile import reconcile, stuck_work

OLD = utcnow() - dt.timedelta(minutes=30)


def welcome(salon_id, status=SENT, created_at=OLD):
    OutboundMessage.create(salon_id=salon_id, key=f"welcome:{salon_id}", chat_id="79001234567@c.us", text="hi",
                           status=status, created_at=created_at)


def active(salon_id, **kw):
    return Salon.create(salon_id=salon_id, state=S.ACTIVE, activated_at=OLD, updated_at=OLD,
                        whatsapp_state=S.WA_CONNECTED, whatsapp_phone="79001234567", **kw)


def test_each_lost_step_is_found_and_healthy_or_fresh_salons_are_left_alone(database):
    Salon.create(salon_id=1, whatsapp_state=S.WA_CONNECTED, whatsapp_connected_at=OLD, updated_at=OLD)
    Salon.create(salon_id=2, state=S.WHATSAPP_CONNECTED, updated_at=OLD)
    Salon.create(salon_id=3, state=S.ACTIVATING, updated_at=OLD)
    active(4)  # no welcome row, no sync run
    active(5)
    welcome(5, PENDING)
    SyncRun.create(salon_id=5, status=RUNNING, updated_at=OLD, kind="incremental")
    # Healthy or merely recent: nothing to do.
    active(6)
    welcome(6)
    SyncRun.create(salon_id=6, status=DONE, updated_at=OLD)
    Salon.create(salon_id=7, state=S.ACTIVATING)  # updated just now: the activation may be in flight
    Salon.create(salon_id=8, whatsapp_state=S.WA_CONNECTED, whatsapp_connected_at=utcnow())
    active(9)
    welcome(9, PENDING, created_at=utcnow())
    SyncRun.create(salon_id=9, status=RUNNING)
    active(11)
    welcome(11)
    SyncRun.create(salon_id=11, status=RUNNING, updated_at=utcnow() - dt.timedelta(minutes=6))  # in a back-off
    Salon.create(salon_id=10, state=S.UNINSTALLED, updated_at=OLD)
    Salon.update(updated_at=OLD).where(Salon.salon_id.in_([1, 2, 3, 4, 5, 6, 10, 11])).execute()  # save() sets now
    found = stuck_work()
    assert sorted(found) == sorted([
        ("on_whatsapp_connected", 1), ("activate_integration", 2), ("activate_integration", 3),
        ("send_welcome", 4), ("sync_salon", 4, "full"), ("send_welcome", 5), ("sync_salon", 5, "incremental")])


def test_reconcile_enqueues_what_it_found(database):
    active(4)

    jobs = StubJobs()
    assert reconcile(jobs) == jobs.calls() == [("send_welcome", 4), ("sync_salon", 4, "full")]
