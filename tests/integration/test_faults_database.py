"""Fault: the database goes away under a running web and worker, then comes back.

SQLite: another process holds the write lock, so every write waits out busy_timeout and fails with
"database is locked" (the processes pool their connections, so a file moved away would go unnoticed).
PostgreSQL: the processes reach the server through a TCP proxy the test cuts (open connections dropped,
new ones refused) and restores on the same port.

What protects us: web/errors.py turns database errors into 503 with a clear body (JSON for machines,
Russian HTML for people) and never a stack trace; the webhook intake commits the delivery BEFORE its 2xx,
so during the outage YCLIENTS gets 503 (and retries) instead of an acknowledgement we cannot keep;
a worker that cannot reach the database fails the message and Dramatiq retries it after the outage.
"""
import concurrent.futures
import contextlib
import signal
import sqlite3
import sys
from urllib.parse import urlparse, urlunparse

import pytest
import requests

from models import salon as S
from models.failure import Failure
from models.salon import Salon
from models.synced import Record
from models.webhook_delivery import WebhookDelivery
from tests.integration.faults_stack import SALON, TcpProxy, faulty_stack
from tests.onboarding_support import open_redirect, press_connect
from tests.support import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
NEW_SALON = 970002  # a first install: the redirect must write
KEY = "outage" + "k" * 34


def record_webhook(record_id: int) -> dict:
    return {"resource": "record", "status": "create", "company_id": SALON, "resource_id": record_id,
            "data": {"id": record_id, "datetime": "2026-12-01T12:00:00+03:00", "staff_id": 3,
                     "client": {"id": record_id * 10}, "comment": "outage test",
                     "last_change_date": "2026-11-20T10:00:00+0000"}}


@contextlib.contextmanager
def database_access(db_url):
    """(process URL, cut, restore, reads_fail) for this engine."""
    if db_url.startswith("sqlite"):
        # The processes pool their SQLite connections, so a file moved away would not be noticed (open
        # descriptors keep the old inode); the outage SQLite really has is another process holding the write
        # lock (a backup, a long migration): every write waits busy_timeout (10 s), then "database is locked".
        holder = {}

        def cut():
            conn = sqlite3.connect(db_url[len("sqlite:///"):], timeout=30, isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            holder["conn"] = conn

        def restore():
            conn = holder.pop("conn")
            conn.execute("ROLLBACK")
            conn.close()

        yield db_url, cut, restore, False
        return
    parts = urlparse(db_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    proxy.start()
    netloc = f"{parts.username}@127.0.0.1:{proxy.port}" if parts.username else f"127.0.0.1:{proxy.port}"
    try:
        yield urlunparse(parts._replace(netloc=netloc)), proxy.stop, proxy.start, True
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
    with database_access(migrated_db_url) as (process_url, cut, restore, reads_fail), \
            faulty_stack(migrated_db_url, database, process_db_url=process_url) as f:
        Salon.create(salon_id=SALON, state=S.ACTIVE, webhook_key=KEY, whatsapp_state=S.WA_CONNECTED)
        f.s.start_web(threads=8)
        f.s.start("yclients-sandbox", [sys.executable, "-m", "sandbox.yclients", "serve", "--port",
                                       str(f.s.ports["yclients"])], health=f"{f.s.url('yclients')}/healthz")
        worker = f.worker("worker", queues=("webhooks", "interactive"))  # interactive: the redirect's install check
        web = f.s.url("web")
        hook = f"{web}/webhook/yclients/{KEY}"
        f.database.close()

        # Before the outage: acknowledged means stored. The worker is paused so it will meet the outage.
        worker.kill(signal.SIGSTOP)
        acknowledged = requests.post(hook, json=record_webhook(501), timeout=15)
        assert acknowledged.status_code == 200, acknowledged.text

        cut()
        try:
            worker.kill(signal.SIGCONT)  # the worker now tries the acknowledged delivery and fails
            # «Подключить» in YCLIENTS: the install is pending there, so the redirect gets as far as its write.
            redirect_url = press_connect(f.s.url("yclients"), (NEW_SALON,))
            with concurrent.futures.ThreadPoolExecutor(3) as pool:  # SQLite: each waits out busy_timeout
                page = pool.submit(open_redirect, requests.Session(), redirect_url, allow_redirects=False,
                                   request_timeout=60, headers=BROWSER)
                refused = pool.submit(requests.post, hook, json=record_webhook(502), timeout=60)
                health = pool.submit(requests.get, f"{web}/marketplace/health", timeout=60)
                assert_clear_503(page.result(), html=True)  # the owner reads a sentence, not a stack trace
                assert_clear_503(refused.result(), html=False)  # not 2xx: YCLIENTS keeps it and retries
                health = health.result()
                assert "Traceback" not in health.text
                if reads_fail:  # SQLite still reads under a held write lock; health only checks a read
                    assert health.status_code == 503
            wait_for(lambda: "Retrying message" in worker.log(), timeout=60, interval=0.5,
                     message=f"the worker meeting the outage\n{worker.log()[-3000:]}")
        finally:
            restore()

        def applied(record_id):
            f.fresh()
            return Record.get_or_none((Record.salon_id == SALON) & (Record.yclients_id == record_id))

        wait_for(lambda: applied(501), timeout=90, interval=0.5, message=f"acknowledged delivery\n{f.logs()}")
        # YCLIENTS redelivers the one we refused; now it is stored and applied.
        assert requests.post(hook, json=record_webhook(502), timeout=15).status_code == 200
        wait_for(lambda: applied(502), timeout=60, interval=0.5, message=f"redelivered webhook\n{f.logs()}")
        f.fresh()
        assert WebhookDelivery.select().count() == 2  # nothing was stored for the refused attempt
        assert Failure.select().count() == 0
        assert requests.get(f"{web}/marketplace/health", timeout=15).status_code == 200
