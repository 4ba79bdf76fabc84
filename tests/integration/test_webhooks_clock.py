"""The `clock` process with a real worker: a stored delivery whose enqueue was lost is swept and processed."""
import datetime
import signal

import pytest

from models import salon as s
from models.db import utcnow
from models.salon import Salon
from models.synced import Record
from models.webhook_delivery import WebhookDelivery
from tests.support import BIN, wait_for
from tests.fakes.lifecycle import store

pytestmark = pytest.mark.integration

SALON = 962302


def test_the_clock_sweeps_a_delivery_whose_enqueue_was_lost_and_stops_cleanly(services, settings, database):
    Salon.create(salon_id=SALON, state=s.ACTIVE, webhook_key="k" * 40)
    lost = store({"resource": "record", "status": "create", "company_id": SALON, "resource_id": 5,
                  "data": {"id": 5, "comment": "swept", "last_change_date": "2026-11-27T10:00:00+03:00"}},
                 received_at=utcnow() - datetime.timedelta(minutes=3))
    worker = services("worker", [str(BIN / "dramatiq"), "workers.main", "--skip-logging", "--processes", "1",
                                 "--threads", "2", "--queues", "webhooks", "lifecycle"], settings,
                      env={"dramatiq_worker_timeout": "100"})
    clock = services("clock", [str(BIN / "python"), "-m", "workers.clock"], settings)

    def processed():
        return WebhookDelivery.get_by_id(lost.id).processed_at is not None
    wait_for(processed, timeout=60, interval=0.2,
             message=f"swept delivery processed\nclock:\n{clock.log()[-2000:]}\nworker:\n{worker.log()[-2000:]}")
    assert Record.get(Record.yclients_id == 5).comment == "swept"
    assert WebhookDelivery.get_by_id(lost.id).requeued_at is not None
    assert "enqueued sweep_webhook_deliveries" in clock.log()

    clock.kill(signal.SIGTERM)
    assert clock.process.wait(10) == 0
    assert "clock stopped" in clock.log()
