"""The whole stack for the fault tests: the real redirect, a real WhatsApp link, activation, welcome and sync.

Built on `tests.bench.stack` (own redis-server, sandboxes, gunicorn web and bridge, Dramatiq workers); these
helpers drive an onboarding the way a salon owner does and read what the outside world saw (the sandboxes).
"""
from __future__ import annotations

import contextlib
import socket
import threading

import redis as redis_lib
import requests

from models.db import init_database
from models.live import LiveStatus
from models.salon import Salon
from models.sync_run import SyncRun
from tests.onboarding_support import open_redirect, press_connect
from tests.bench.stack import stack
from tests.support import BIN, free_port, wait_for
from workers.broker import build_broker
from workers.jobs import Jobs

SALON = 962302  # the sandbox's small salon: 1,400 clients and 4,000 records over 31 requests
PHONE = "79001234567"


class Faulty:
    """One running stack plus the handles a fault test needs."""

    def __init__(self, s, database):
        self.s = s
        self.settings = s.settings
        self.database = database
        self.redis = redis_lib.Redis.from_url(s.settings.redis_url, socket_timeout=5)
        self.live = LiveStatus(self.redis)
        self._jobs = None

    # -- processes ----------------------------------------------------------------------------------
    def start(self, worker_threads: int = 4, sandbox_env: dict | None = None, **worker) -> None:
        if sandbox_env:  # e.g. a stricter budget enforced by YCLIENTS than the one we keep to
            self.s.start("whatsapp-sim", [str(BIN / "python"), "-m", "sandbox.whatsapp", "serve", "--port",
                                          str(self.s.ports["whatsapp"])], health=f"{self.s.url('whatsapp')}/healthz")
            self.s.start("yclients-sandbox", [str(BIN / "python"), "-m", "sandbox.yclients", "serve", "--port",
                                              str(self.s.ports["yclients"])], env=sandbox_env,
                         health=f"{self.s.url('yclients')}/healthz")
        else:
            self.s.start_sandboxes()
        self.s.start_bridge()
        self.s.start_web(threads=16)
        self.worker("worker", threads=worker_threads, **worker)

    def worker(self, name: str, threads: int = 4, queues=()):
        return self.s.start_worker(name, threads=threads, queues=queues)

    @property
    def jobs(self) -> Jobs:
        if self._jobs is None:
            self._jobs = Jobs(build_broker(self.settings))
        return self._jobs

    def logs(self, tail: int = 2500) -> str:
        return "\n".join(f"--- {name}\n{service.log()[-tail:]}" for name, service in self.s.services.items())

    # -- the salon owner ----------------------------------------------------------------------------
    def redirect(self, salon_id: int = SALON) -> requests.Session:
        """«Подключить» in the YCLIENTS sandbox, then our redirect (YCLIENTS confirms the install through the
        worker's check); the returned browser holds the session cookie."""
        browser = requests.Session()
        page = open_redirect(browser, press_connect(self.s.url("yclients"), (salon_id,)))
        assert page.status_code == 200 and page.url.endswith("/marketplace/onboarding"), page.text[:500]
        return browser

    def status(self, browser: requests.Session) -> requests.Response:
        return browser.get(f"{self.s.url('web')}/marketplace/status", timeout=15)

    def scan(self, salon_id: int = SALON, phone: str = PHONE) -> dict:
        answer = requests.post(f"{self.s.url('whatsapp')}/_sim/salon_{salon_id}/scan", json={"phone": phone},
                               timeout=10)
        answer.raise_for_status()
        return answer.json()

    # -- what the outside world saw -----------------------------------------------------------------
    def sim_faults(self, **knobs) -> None:
        requests.post(f"{self.s.url('whatsapp')}/_sim/faults", json=knobs, timeout=10).raise_for_status()

    def sim_faults_now(self) -> dict:
        return requests.get(f"{self.s.url('whatsapp')}/_sim/faults", timeout=10).json()

    def sandbox_faults(self, **knobs) -> None:
        requests.post(f"{self.s.url('yclients')}/_sandbox/faults", json=knobs, timeout=10).raise_for_status()

    def sent(self, salon_id: int = SALON) -> list[dict]:
        return requests.get(f"{self.s.url('whatsapp')}/_sim/messages", params={"session": f"salon_{salon_id}"},
                            timeout=10).json()

    def activations(self, salon_id: int = SALON) -> list[dict]:
        callbacks = requests.get(f"{self.s.url('yclients')}/_sandbox/installs", timeout=10).json()["callbacks"]
        return [c for c in callbacks if int(c.get("salon_id") or salon_id) == salon_id]

    def stats(self) -> dict:
        return requests.get(f"{self.s.url('yclients')}/_sandbox/stats", timeout=10).json()

    def digest(self, salon_id: int, start, end) -> dict:
        return requests.get(f"{self.s.url('yclients')}/_sandbox/salons/{salon_id}/digest",
                            params={"start_date": start, "end_date": end}, timeout=30).json()

    # -- what we stored -----------------------------------------------------------------------------
    def fresh(self):
        self.database.close()
        self.database.connect()

    def salon(self, salon_id: int = SALON) -> Salon | None:
        self.fresh()
        return Salon.get_or_none(Salon.salon_id == salon_id)

    def run(self, salon_id: int = SALON) -> SyncRun | None:
        self.fresh()
        return SyncRun.select().where(SyncRun.salon_id == salon_id).order_by(SyncRun.id.desc()).first()

    def sync_done(self, salon_id: int = SALON) -> bool:
        run = self.run(salon_id)
        return run is not None and run.status == "done"

    def wait_live(self, slot: str, predicate=lambda value: value is not None, salon_id: int = SALON,
                  timeout: float = 60):
        def ready():
            value = self.live.snapshot(salon_id)["data"].get(slot)
            return value if predicate(value) else None

        return wait_for(ready, timeout=timeout, interval=0.1, message=f"{slot} for {salon_id}\n{self.logs()}")

    def close(self):
        self.redis.close()


@contextlib.contextmanager
def faulty_stack(migrated_db_url: str, database, rate_limit: str = "5/s,200/min", process_db_url: str | None = None,
                 **overrides):
    """A full stack on the test's database (SQLite file or the PostgreSQL test database, emptied per test).
    `process_db_url` is what the processes use when it differs (e.g. through a proxy the test can cut)."""
    with stack(database_url=process_db_url or migrated_db_url, rate_limit=rate_limit, **overrides) as s:
        # stack() migrates through its own handle, which rebinds the models: bind them to ours again.
        f = Faulty(s, reopen(migrated_db_url))
        try:
            yield f
        finally:
            f.close()


def reopen(url: str):
    """A handle bound to the models in the test process (the workers write through their own connections)."""
    db = init_database(url)
    db.connect(reuse_if_open=True)
    return db


class TcpProxy:
    """A TCP relay the test can cut (every connection dropped, new ones refused) and restore on the same port."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.port = free_port()
        self.listener = None
        self.lock = threading.Lock()
        self.sockets: list[socket.socket] = []

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        """The database is gone: the port refuses connections and open ones are cut."""
        if self.listener is not None:
            try:
                self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not
            except OSError:
                pass
            self.listener.close()
            self.listener = None
        with self.lock:
            sockets, self.sockets = self.sockets, []
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
