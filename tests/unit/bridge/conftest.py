"""Bridge test fixtures: a fake clock, the WhatsApp simulator served over real HTTP in a thread, a salon row,
a job recorder, and the relay app wired to them."""
from __future__ import annotations

import json

import pytest

from bridge.linking import LinkDeps
from bridge.webhooks import sign
from models.live import LiveStatus
from models.salon import Salon
from runtime.gateway.waha import WahaClient
from runtime.stub_jobs import StubJobs
from sandbox.whatsapp.core import SimCore
from tests.fakes.gateway_sim import API_KEY, FakeClock, SimServer
from tests.support import container_for


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
    return StubJobs()


@pytest.fixture
def live(redis_client):
    return LiveStatus(redis_client)


@pytest.fixture
def deps(waha, redis_client, live, jobs, clock):
    return LinkDeps(waha=waha, redis=redis_client, live=live, jobs=jobs, clock=clock)


@pytest.fixture
def salon(database):
    return Salon.create(salon_id=42, title="Салон")


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

    container = container_for(settings, _KeepOpen(), redis_client, "bridge", jobs=jobs, live=live, gateway=waha)
    app = create_app(settings, container=container, clock=clock)
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
