"""Rows a salon has after an onboarding, built directly in the database (for the support CLI tests)."""
from __future__ import annotations

import datetime

from models.failure import Failure
from models.outbound import OutboundMessage
from models.salon import Salon
from models.sync_run import SyncRun
from models.timeline import TimelineEvent

T0 = datetime.datetime(2026, 11, 27, 10, 0, 0)
PHONE = "79001234567"


def onboarded_salon(salon_id: int = 962302) -> Salon:
    from models import synced

    salon = Salon.create(salon_id=salon_id, title="KULTURA Малаховка", state="active", whatsapp_state="connected",
                         whatsapp_phone=PHONE, whatsapp_connected_at=T0, api_key="a" * 32, activation_attempts=1,
                         activated_at=T0 + datetime.timedelta(seconds=4),
                         welcome_sent_at=T0 + datetime.timedelta(seconds=9), registered_at=T0 - datetime.timedelta(minutes=1))
    for i in range(2):
        synced.ServiceCategory.create(salon_id=salon_id, yclients_id=100 + i, title=f"cat {i}")
    for i in range(3):
        synced.Service.create(salon_id=salon_id, yclients_id=200 + i, title=f"service {i}")
    synced.Staff.create(salon_id=salon_id, yclients_id=300, name="Мастер")
    for i in range(4):
        synced.Client.create(salon_id=salon_id, yclients_id=400 + i, name=f"client {i}", phone=f"7900555000{i}",
                             deleted=(i == 3))  # a deleted client is not counted
    for i in range(5):
        synced.Record.create(salon_id=salon_id, yclients_id=500 + i)
    SyncRun.create(salon_id=salon_id, kind="full", status="done", started_at=T0 + datetime.timedelta(seconds=5),
                   finished_at=T0 + datetime.timedelta(seconds=17, milliseconds=500),
                   counts={"clients": 3, "records": 5})
    OutboundMessage.create(salon_id=salon_id, key=f"welcome:{salon_id}", chat_id=f"{PHONE}@c.us", text="hi",
                           status="sent", sent_at=T0 + datetime.timedelta(seconds=9))
    TimelineEvent.create(salon_id=salon_id, kind="registration_started", actor="owner",
                         data={"installer_phone": PHONE}, created_at=T0 - datetime.timedelta(minutes=1))
    TimelineEvent.create(salon_id=salon_id, kind="whatsapp_connected", actor="bridge", data={"phone": PHONE},
                         created_at=T0)
    TimelineEvent.create(salon_id=salon_id, kind="activated", actor="worker", data={}, created_at=T0 + datetime.timedelta(seconds=4))
    return salon


def failure(salon_id=962302, actor="sync_salon", queue="sync", redis_message_id="", status="open", **extra) -> Failure:
    fields = dict(salon_id=salon_id, actor_name=actor, queue_name=queue, message_id="m-" + actor,
                  redis_message_id=redis_message_id, args=[salon_id, "full"], kwargs={},
                  options={"max_retries": 6}, error_type="HTTPError",
                  error="Traceback...\nrequests.HTTPError: 503 Server Error", attempts=7, status=status,
                  created_at=T0 + datetime.timedelta(seconds=20))
    fields.update(extra)
    return Failure.create(**fields)
