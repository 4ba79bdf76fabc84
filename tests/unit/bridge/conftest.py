"""Bridge test fixtures: a fake clock, the WhatsApp simulator served over real HTTP in a thread, a salon row,
a job recorder, and the relay app wired to them."""
from __future__ import annotations

import json
import threading

import pytest
from werkzeug.serving import make_server

from bridge.linking import LinkDeps
from bridge.waha import WahaClient
from bridge.webhooks import sign
from models.live import LiveStatus
from models.salon import Salon
from sandbox.whatsapp.app import create_app as create_sim
from sandbox.whatsapp.core import SimCore

API_KEY = "test-waha-key"


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class JobRecorder:
    """Stands in for workers.jobs.Jobs: records (actor, args, delay_ms)."""

    def __init__(self):
        self.sent: list[tuple[str, tuple, int | None]] = []

    def send(self, actor_name, *args, delay_ms=None, **kwargs):
        self.sent.append((actor_name, args, delay_ms))

    def named(self, actor_name):
        return [(args, delay) for name, args, delay in self.sent if name == actor_name]


class SimServer:
    def __init__(self, core: SimCore, api_key: str = API_KEY):
        self.core = core
        self.app = create_sim({"core": core, "api_key": api_key})
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def sim(clock):
    server = SimServer(SimCore(clock=clock))
    yield server
    server.close()


@pytest.fixture
def waha(sim, settings):
    return WahaClient(sim.url, API_KEY, webhook_url=settings.bridge_public_url,
                      webhook_secret=settings.waha_webhook_secret, timeout=3)


@pytest.fixture
def jobs():
    return JobRecorder()


@pytest.fixture
def live(redis_client):
    return LiveStatus(redis_client)


@pytest.fixture
def deps(waha, redis_client, live, jobs, clock):
    return LinkDeps(waha=waha, redis=redis_client, live=live, jobs=jobs, clock=clock)


@pytest.fixture
def salon(database):
    return Salon.create(salon_id=42, title="Салон")


def reload(salon_id=42) -> Salon:
    return Salon.get_by_id(salon_id)


@pytest.fixture
def relay(settings, database, redis_client, live, jobs, waha, clock):
    """The bridge relay app over the test database/Redis; `post(envelope)` signs and posts like WAHA."""
    from bridge.relay import create_app

    class _KeepOpen:
        """The relay closes its connection per request; the test keeps using the same one."""

        def __getattr__(self, name):
            return getattr(database, name)

        def close(self):
            return None

    context = {"settings": settings, "database": _KeepOpen(), "redis": redis_client, "jobs": jobs, "live": live,
               "waha": waha, "clock": clock}
    app = create_app(settings, context=context)
    client = app.test_client()

    def post(envelope, *, secret=settings.waha_webhook_secret, signature=None, raw=None):
        body = raw if raw is not None else json.dumps(envelope).encode()
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Webhook-Hmac"] = signature
        elif secret:
            headers["X-Webhook-Hmac"] = sign(secret, body)
        return client.post("/waha/webhook", data=body, headers=headers)

    client.post_event = post
    return client
