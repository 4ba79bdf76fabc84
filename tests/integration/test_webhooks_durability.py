"""SIGKILL during intake: every delivery that got a 2xx is in the database afterwards.

Real gunicorn (the Procfile's gevent worker class), a real database (SQLite and PostgreSQL), our own
Redis, and an open-loop client posting unique deliveries on a fixed schedule from many connections. The
web process group is SIGKILLed while deliveries are in flight; then each acknowledged delivery id must be
stored with its own body. The PostgreSQL run skips only when TEST_POSTGRES_URL is unset outside CI.
"""
from __future__ import annotations

import contextlib
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
import requests

from models import salon as s
from models.db import init_database
from models.salon import Salon
from models.webhook_delivery import WebhookDelivery
from tests.support import BIN, free_port, wait_for

pytestmark = pytest.mark.integration

SALON = 962302
KEY = "durable" + "k" * 33
RATE = 300  # deliveries per second, scheduled (open loop)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_url(request, tmp_path):
    """A fresh migrated database of each engine (not the session's): both runs happen in every session."""
    import migrations

    from tests.conftest import scratch_postgres_database

    with contextlib.ExitStack() as scratch:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'durable.db'}"
        else:
            url = scratch.enter_context(scratch_postgres_database("aiadmin_k"))
        db = init_database(url)
        db.connect()
        migrations.migrate(db)
        db.close()
        try:
            yield url
        finally:
            init_database(url).close_all()  # before the scratch database is dropped


def body(n: int) -> dict:
    return {"resource": "record", "status": "update", "company_id": SALON, "resource_id": n,
            "data": {"id": n, "comment": f"delivery {n}"}}


def test_every_acknowledged_delivery_survives_a_sigkill_of_the_web_process(services, settings, engine_url):
    settings = replace(settings, database_url=engine_url)
    db = init_database(engine_url)
    with db.connection_context():
        Salon.create(salon_id=SALON, state=s.ACTIVE, webhook_key=KEY)
    port = free_port()
    web = services("web", [str(BIN / "gunicorn"), "--worker-class", "gevent", "--workers", "1",
                           "--worker-connections", "1000", "--bind", f"127.0.0.1:{port}", "web:create_app()"],
                   settings)
    url = f"http://127.0.0.1:{port}/webhook/yclients/{KEY}"
    web.wait_http(f"http://127.0.0.1:{port}/healthz")

    acked: dict[int, int] = {}  # resource_id -> delivery_id, for each 2xx
    failed = []
    local = threading.local()
    stop = threading.Event()

    def post(n: int):
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        try:
            response = session.post(url, json=body(n), timeout=10)
        except requests.RequestException:
            failed.append(n)
            return
        if 200 <= response.status_code < 300:
            acked[n] = response.json()["delivery_id"]
        else:
            failed.append(n)

    def schedule(pool):
        start, n = time.monotonic(), 0
        while not stop.is_set():
            n += 1
            delay = start + n / RATE - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(post, n)

    with ThreadPoolExecutor(max_workers=48) as pool:
        scheduler = threading.Thread(target=schedule, args=(pool,))
        scheduler.start()
        wait_for(lambda: len(acked) >= 200, timeout=30, message="200 acknowledged deliveries")
        web.kill(signal.SIGKILL)  # master and worker, mid-load: no graceful anything
        web.process.wait(10)
        time.sleep(0.5)  # requests in flight at the kill fail now
        stop.set()
        scheduler.join(10)
    assert failed, "the kill happened after the load, not during it"

    with db.connection_context():
        stored = {row.id: row.resource_id for row in WebhookDelivery.select(WebhookDelivery.id,
                                                                             WebhookDelivery.resource_id)}
    lost = {n: i for n, i in acked.items() if stored.get(i) != n}
    assert not lost, f"{len(lost)} of {len(acked)} acknowledged deliveries are not stored: {list(lost.items())[:5]}"
    db.close_all()
