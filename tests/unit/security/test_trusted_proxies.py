"""TRUSTED_PROXIES decides whose X-Forwarded-For is believed: by default only loopback (nginx on the same host),
so a client on a private network can no longer rotate the header past a per-address limit; a listed load
balancer's network is believed, and a chain of trusted proxies is walked from the right."""
from __future__ import annotations

import ipaddress

import pytest

from runtime.settings import Settings
from tests.fakes.fuzz import new_client
from web import create_app, error_budget
from tests.support import container_for
from web.marketplace.session import forwarded_client

_, LIMIT, _ = error_budget.BUDGET
LOOPBACK = Settings.from_env({"APP_ENV": "development"}).trusted_proxies
BALANCER = LOOPBACK + (ipaddress.ip_network("10.0.0.0/8"),)


@pytest.mark.parametrize("peer,forwarded,trusted,client", [
    ("203.0.113.5", "198.51.100.7", LOOPBACK, "203.0.113.5"),          # direct client: header ignored
    ("10.1.2.3", "198.51.100.7", LOOPBACK, "10.1.2.3"),                # private peer is NOT trusted by default
    ("127.0.0.1", "198.51.100.7", LOOPBACK, "198.51.100.7"),           # our nginx
    ("127.0.0.1", "6.6.6.6, 198.51.100.7", LOOPBACK, "198.51.100.7"),  # a spoofed first hop changes nothing
    ("10.1.2.3", "198.51.100.7", BALANCER, "198.51.100.7"),            # a listed balancer
    ("127.0.0.1", "198.51.100.7, 10.0.0.5", BALANCER, "198.51.100.7"),  # nginx behind the balancer: walk right
    ("127.0.0.1", "", LOOPBACK, "127.0.0.1"),
    ("::1", "2001:db8::7", LOOPBACK, "2001:db8::7"),
    ("127.0.0.1", "junk, 198.51.100.7", LOOPBACK, "198.51.100.7"),
])
def test_the_client_address(peer, forwarded, trusted, client):
    assert forwarded_client(peer, forwarded, trusted) == client


def _app(settings, database, redis_client, jobs):
    from models.live import LiveStatus

    app = create_app(settings, container=container_for(settings=settings, database=database, redis=redis_client,
                                                  jobs=jobs, live=LiveStatus(redis_client)))

    def boom():
        raise RuntimeError("unforeseen input")

    app.add_url_rule("/webhook/boom", "boom", boom, methods=["POST"])
    return new_client(app)


def _rotating(client, peer):
    return [client.post("/webhook/boom", json={}, environ_overrides={"REMOTE_ADDR": peer},
                        headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(LIMIT + 2)]


def test_by_default_a_private_network_client_cannot_rotate_the_header_past_a_limit(settings, database,
                                                                                  redis_client, jobs):
    statuses = _rotating(_app(settings, database, redis_client, jobs), "10.1.2.3")
    assert statuses == [500] * LIMIT + [429] * 2


def test_behind_a_listed_balancer_each_forwarded_client_has_its_own_budget(settings, database, redis_client, jobs):
    configured = settings.replace(trusted_proxies=BALANCER)
    statuses = _rotating(_app(configured, database, redis_client, jobs), "10.1.2.3")
    assert statuses == [500] * (LIMIT + 2)
