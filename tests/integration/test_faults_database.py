"""Fault: the database goes away under a running web and worker, then comes back.

SQLite: the file (with its WAL) is moved away and a directory takes its path, so every new connection
fails. PostgreSQL: the processes reach the server through a TCP proxy the test cuts (open connections
dropped, new ones refused) and restores on the same port.

What protects us: web/errors.py turns database errors into 503 with a clear body (JSON for machines,
Russian HTML for people) and never a stack trace; the webhook intake commits the delivery BEFORE its 2xx,
so during the outage YCLIENTS gets 503 (and retries) instead of an acknowledgement we cannot keep;
a worker that cannot reach the database fails the message and Dramatiq retries it after the outage.
"""
import contextlib
import signal
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
import requests

from models import salon as S
from models.failure import Failure
from models.salon import Salon
from models.synced import Record
from models.webhook_delivery import WebhookDelivery
from sandbox.yclients.signing import demo_user, signed_user_data
from tests.integration.faults_stack import SALON, TcpProxy, faulty_stack
from tests.support import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
KEY = "outage" + "k" * 34


def record_webhook(record_id: int) -> dict:
    return {"resource": "record", "status": "create", "company_id": SALON, "resource_id": record_id,
            "data": {"id": record_id, "datetime": "2026-12-01T12:00:00+03:00", "staff_id": 3,
                     "client": {"id": record_id * 10}, "comment": "outage test",
                     "last_change_date": "2026-11-20T10:00:00+0000"}}


@contextlib.contextmanager
def database_access(db_url):
    """(process URL, cut, restore) for this engine."""
    if db_url.startswith("sqlite"):
        path = Path(db_url[len("sqlite:///"):])
        moved = []

        def cut():
            for suffix in ("", "-wal", "-shm"):
                part = Path(f"{path}{suffix}")
                if part.exists():
                    part.rename(f"{part}.away")
                    moved.append(part)
            path.mkdir()  # "unable to open database file" for every new connection

        def restore():
            path.rmdir()
            for part in moved:
                Path(f"{part}.away").rename(part)
            moved.clear()

        yield db_url, cut, restore
        return
    parts = urlparse(db_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    proxy.start()
    netloc = f"{parts.username}@127.0.0.1:{proxy.port}" if parts.username else f"127.0.0.1:{proxy.port}"
    try:
        yield urlunparse(parts._replace(netloc=netloc)), proxy.stop, proxy.start
    finally:
        proxy.stop()


def assert_clear_503(answer, *, html: bool):
    assert answer.status_code == 503, (answer.status_code, answer.text[:500])
    assert "Traceback" not in answer.text and 'File "' not in answer.text and "peewee" not in answer.text
    if html:
        assert answer.headers["Content-Type"].startswith("text/html")
        assert "временно недоступна" in answer.text
    else:
        assert answer.json()["error"] == "database_unavailable"


def test_web_answers_503_during_a_database_outage_and_nothing_acknowledged_is_lost(migrated_db_url, database):
    with database_access(migrated_db_url) as (process_url, cut, restore), \
            faulty_stack(migrated_db_url, database, process_db_url=process_url) as f:
        Salon.create(salon_id=SALON, state=S.ACTIVE, webhook_key=KEY, whatsapp_state=S.WA_CONNECTED)
        f.s.start_web(threads=8)
        worker = f.worker("worker", queues=("webhooks",))
        web = f.s.url("web")
        hook = f"{web}/webhook/yclients/{KEY}"
        f.database.close()

        # Before the outage: acknowledged means stored. The worker is paused so it will meet the outage.
        worker.kill(signal.SIGSTOP)
        acknowledged = requests.post(hook, json=record_webhook(501), timeout=15)
        assert acknowledged.status_code == 200, acknowledged.text

        cut()
        try:
            user_data, sign = signed_user_data(demo_user("Салон"), f.settings.yclients_partner_token)
            page = requests.get(f"{web}/auth/yclients/redirect", allow_redirects=False, timeout=15, headers=BROWSER,
                                params={"salon_id": SALON, "user_data": user_data, "user_data_sign": sign})
            assert_clear_503(page, html=True)  # the owner reads a sentence, not a stack trace
            refused = requests.post(hook, json=record_webhook(502), timeout=15)
            assert_clear_503(refused, html=False)  # not 2xx: YCLIENTS keeps it and retries
            health = requests.get(f"{web}/marketplace/health", timeout=15)
            assert health.status_code == 503 and "Traceback" not in health.text
            worker.kill(signal.SIGCONT)  # the worker now tries the acknowledged delivery and fails
            time.sleep(3)
        finally:
            restore()

        def applied(record_id):
            f.fresh()
            return Record.get_or_none((Record.salon_id == SALON) & (Record.yclients_id == record_id))

        wait_for(lambda: applied(501), timeout=90, interval=0.5, message=f"acknowledged delivery\n{f.logs()}")
        assert "Retrying message" in worker.log(), worker.log()[-3000:]  # it did meet the outage
        # YCLIENTS redelivers the one we refused; now it is stored and applied.
        assert requests.post(hook, json=record_webhook(502), timeout=15).status_code == 200
        wait_for(lambda: applied(502), timeout=60, interval=0.5, message=f"redelivered webhook\n{f.logs()}")
        f.fresh()
        assert WebhookDelivery.select().count() == 2  # nothing was stored for the refused attempt
        assert Failure.select().count() == 0
        assert requests.get(f"{web}/marketplace/health", timeout=15).status_code == 200
