"""Fault: Redis restarts (data lost: queues, live snapshots, leases) in the middle of an onboarding.

The WhatsApp link is made, and the `on_whatsapp_connected` message waits in Redis when Redis dies; the new
Redis is empty. What protects us:
- the web rebuilds a lost snapshot from the database (models/status_rebuild.py) and fills the slots a
  post-restart snapshot lacks (web/marketplace/status.py), so the page shows the true state;
- the websocket notices that Redis went back in time (a snapshot older than what the socket already
  delivered) and starts the page over with a seq-0 snapshot, so events published after the restart
  (seq 1, 2, ...) are not dropped as "already seen";
- `reconcile_onboardings` (scheduled every minute by the clock) re-enqueues the lost step from what the
  database says; every step is idempotent, so the activation and the welcome still happen exactly once.
"""
import json
import threading
import time

import pytest
import websocket

from models import salon as S
from models.sync_run import SyncRun
from sandbox import redis_server
from tests.integration.faults_stack import SALON, faulty_stack
from tests.support import wait_for
from tests.fakes.digest import db_digest
from web.marketplace import session
from workers.sync.salon_sync import records_window

pytestmark = [pytest.mark.integration, pytest.mark.slow]


class Page:
    """The onboarding page's socket and its model, with the same acceptance rules as web/static/onboarding.js."""

    def __init__(self, f, browser, last_seq=None):
        cookie = browser.cookies.get(session.COOKIE)
        query = f"?last_seq={last_seq}" if last_seq is not None else ""
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{f.s.ports['web']}/marketplace/ws{query}",
                                              header=[f"Cookie: {session.COOKIE}={cookie}"], timeout=10)
        self.seq = -1
        self.data: dict = {}
        self.received: list[dict] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        self.ws.settimeout(1)
        while True:
            try:
                text = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except Exception:
                return
            if not text:
                return
            self.apply(json.loads(text))

    def apply(self, env):
        with self.lock:
            self.received.append(env)
            if env["type"] == "snapshot":
                if env["seq"] < self.seq and env["seq"] != 0:
                    return
                self.seq, self.data = env["seq"], dict(env["data"] or {})
            else:
                if env["seq"] <= self.seq:
                    return
                self.seq = env["seq"]
                slot = {"whatsapp_connected": "whatsapp"}.get(env["type"], env["type"])
                self.data[slot] = env["data"]

    def shows(self, slot, **expected):
        with self.lock:
            value = self.data.get(slot)
        return value is not None and all(value.get(k) == v for k, v in expected.items())

    def close(self):
        self.ws.close()


def restart_redis(f):
    """Stop redis-server and start an empty one on the same port (no persistence: everything is gone)."""
    f.s.redis_process.kill()
    f.s.redis_process.wait(10)
    f.s.redis_process = redis_server.start(port=f.s.redis_port)
    redis_server.wait_ready(port=f.s.redis_port)


def test_a_redis_restart_mid_onboarding_loses_nothing_and_the_page_shows_the_true_state(migrated_db_url, database):
    with faulty_stack(migrated_db_url, database) as f:
        f.s.start_sandboxes()
        f.s.start_bridge()
        f.s.start_web(threads=16)
        f.worker("linking", queues=("interactive", "whatsapp", "outbound"))  # nobody consumes onboarding yet
        browser = f.redirect()
        page = Page(f, browser)
        try:
            wait_for(lambda: page.shows("qr"), timeout=60, message=f"qr on the page\n{f.logs()}")
            f.scan()
            wait_for(lambda: page.shows("whatsapp"), timeout=60, message=f"connected on the page\n{f.logs()}")
            wait_for(lambda: f.redis.llen("dramatiq:onboarding") == 1, timeout=30, message="connected job queued")
            seen_before = page.seq
            assert seen_before >= 2

            restart_redis(f)
            assert f.redis.llen("dramatiq:onboarding") == 0  # the job is gone with the old Redis

            # The polling fallback shows the truth from the database: linked, not yet activated.
            status = wait_for(lambda: (lambda r: r if r.status_code == 200 else None)(f.status(browser)),
                              timeout=30, message="status after restart")
            data = status.json()["data"]
            assert data["state"] == S.PENDING_WHATSAPP and data["whatsapp"]["phone"] == "+7900***67"
            assert data["activation"] is None and data["qr"] is None
            # A page reconnecting with its last seq gets a fresh start, not "nothing new".
            again = Page(f, browser, last_seq=seen_before)
            wait_for(lambda: again.shows("whatsapp"), timeout=15,
                     message=f"reconnected page\n{again.received}\n{f.logs()}")
            assert again.received[0]["type"] == "snapshot" and again.received[0]["seq"] == 0

            # The onboarding workers come up; the clock's reconciliation finds the lost step.
            f.worker("pipeline", queues=("onboarding", "sync"))
            time.sleep(1.1)
            f.jobs.send("reconcile_onboardings", 1)
            wait_for(f.sync_done, timeout=120, interval=0.5, message=f"activation and sync\n{f.logs()}")
            wait_for(lambda: len(f.sent()) == 1, timeout=60, message=f"welcome\n{f.logs()}")
            for p in (page, again):  # the socket open through the restart and the reconnected one
                wait_for(lambda: p.shows("activation", status="done") and p.shows("sync", status="done")
                         and p.shows("welcome", status="sent") and p.data.get("complete") is not None, timeout=30,
                         message=f"page state {p.data}\n{[e['type'] + ':' + str(e['seq']) for e in p.received]}")
            # A page opened now reads a snapshot re-created after the restart: the slots published before it
            # (the WhatsApp link) come from the database, next to the ones published since.
            late = Page(f, browser)
            wait_for(lambda: late.shows("activation", status="done") and late.shows("whatsapp"), timeout=15,
                     message="a late page showing the link and the activation")
            late.close()
            data = f.status(browser).json()["data"]
            assert data["state"] == S.ACTIVE and data["whatsapp"]["phone"] == "+7900***67", data
            f.fresh()
            assert f.salon().state == S.ACTIVE
            assert len(f.activations()) == 1 and len(f.sent()) == 1
            assert db_digest(SALON) == f.digest(SALON, *records_window(f.settings))
            assert SyncRun.select().count() == 1
        finally:
            page.close()
