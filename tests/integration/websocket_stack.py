"""A production-mode web process for the websocket tests, and a small websocket client."""
from __future__ import annotations

import json
import time

import pytest
import websocket

from models.live import LiveStatus
from tests.support import BIN, free_port
from web.marketplace import session, tokens


QR = {"payload": "2@late-joiner", "svg": "<svg/>", "expires_in": 20}


@pytest.fixture
def web(services, settings):
    def start(app_settings=None):
        port = free_port()
        proc = services(f"web-{port}", [str(BIN / "gunicorn"), "--worker-class", "gthread", "--workers", "1",
                                        "--threads", "32", "--graceful-timeout", "3", "--bind", f"127.0.0.1:{port}",
                                        "web:create_app()"],
                        app_settings or settings)
        proc.wait_http(f"http://127.0.0.1:{port}/healthz")
        return f"127.0.0.1:{port}"
    return start


@pytest.fixture
def live(redis_client):
    return LiveStatus(redis_client)


def token_for(settings, *salon_ids, **kw):
    return tokens.issue(settings.jwt_secret, tokens.SESSION, salon_ids, 42, **kw)


def connect(host, token=None, query="", origin=None):
    headers = [f"Cookie: {session.COOKIE}={token}"] if token else []
    ws = websocket.create_connection(f"ws://{host}/marketplace/ws{query}", header=headers, timeout=5,
                                     **({"origin": origin} if origin else {}))
    return ws


def recv(ws, timeout=5.0):
    ws.settimeout(timeout)
    return json.loads(ws.recv())


def recv_until(ws, predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        message = recv(ws, max(0.1, deadline - time.monotonic()))
        if predicate(message):
            return message


def assert_closed_with_error(ws, code):
    message = recv(ws)
    assert message["type"] == "error" and message["data"]["code"] == code, message
    assert message["data"]["message"]
    ws.settimeout(5)
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
        while True:
            if ws.recv() in ("", None):
                raise websocket.WebSocketConnectionClosedException()


_addresses = iter(f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}" for i in range(1, 10 ** 7))


def fresh(host, token=None):
    """A socket from a new client address (through our proxy, which the server trusts on loopback): the
    per-address limits are tested on their own below, the fuzzers must not trip them."""
    headers = [f"X-Forwarded-For: {next(_addresses)}"]
    if token:
        headers.append(f"Cookie: aiadmin_onboarding={token}")
    return websocket.create_connection(f"ws://{host}/marketplace/ws", timeout=5, header=headers)
