"""A page that has to poll (websocket blocked) downloads at most 5 KB a minute once WhatsApp is linked.

Measured on the wire against the real gunicorn web process: every response byte (status line, headers,
body) of the polls the page makes in one minute, at the interval the page's script uses after linking,
with the sync's progress changing before every poll (the worst case: no poll is a 304).
"""
from __future__ import annotations

import re
import socket

import pytest

from models.live import LiveStatus
from tests.support import BIN, ROOT, free_port
from web.marketplace import session, tokens

pytestmark = pytest.mark.integration

SALON = 962302
BUDGET_PER_MINUTE = 5 * 1024


def page_interval_ms(name: str) -> int:
    script = (ROOT / "web" / "static" / "onboarding.js").read_text()
    return int(re.search(rf"{name} = (\d+)", script).group(1))


def get_raw(port: int, path: str, headers: dict) -> tuple[bytes, bytes]:
    """One HTTP/1.1 GET as the browser sends it; returns (head, body) exactly as received."""
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close",
             *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall("\r\n".join(lines).encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", body


@pytest.fixture
def web(services, settings, database):
    port = free_port()
    app_settings = settings.replace(public_base_url=f"http://127.0.0.1:{port}")
    proc = services("web", [str(BIN / "gunicorn"), "--worker-class", "gthread", "--workers", "1", "--threads", "4",
                            "--bind", f"127.0.0.1:{port}", "web:create_app()"], app_settings)
    proc.wait_http(f"http://127.0.0.1:{port}/healthz")
    return port, app_settings


def test_polling_after_linking_costs_at_most_5_kb_a_minute(web, redis_client):
    port, app_settings = web
    live = LiveStatus(redis_client)
    svg = "<svg xmlns='http://www.w3.org/2000/svg'>" + "<path d='M1,1H2V2H1z'/>" * 900 + "</svg>"
    live.publish(SALON, "qr", {"payload": "2@" + "x" * 200, "svg": svg, "expires_in": 60})  # ~20 KB, then stale
    live.publish(SALON, "whatsapp_connected", {"phone": "79001234567"}, state="whatsapp_connected")
    live.publish(SALON, "activation", {"status": "done", "code": "activation_done"}, state="active")
    live.publish(SALON, "welcome", {"status": "sent", "code": "welcome_sent"})
    cookie = tokens.issue(app_settings.jwt_secret, tokens.SESSION, [SALON], 1)
    headers = {"Cookie": f"{session.COOKIE}={cookie}", "Accept": "*/*", "Accept-Encoding": "gzip, deflate, br",
               "Accept-Language": "ru-RU,ru;q=0.9"}
    polls = 60_000 // page_interval_ms("POLL_LINKED")
    total, etag = 0, None
    for n in range(polls):
        live.publish(SALON, "sync", {"status": "running", "entity": "clients", "done": 200 * (n + 1), "total": 1400,
                                     "percent": 10 + 5 * n, "requests_left": 30 - n, "code": "sync_running"})
        head, body = get_raw(port, f"/marketplace/status?salon_id={SALON}",
                             {**headers, **({"If-None-Match": etag} if etag else {})})
        assert head.startswith(b"HTTP/1.1 200") and b"Content-Encoding: gzip" in head
        etag = re.search(rb"ETag: (\S+)", head).group(1).decode()
        total += len(head) + len(body)
    print(f"{total} bytes in a minute of polling ({polls} polls)")
    assert total <= BUDGET_PER_MINUTE, f"{total} bytes in a minute of polling ({polls} polls)"

    # Nothing changed since the last poll: a bodiless 304.
    head, body = get_raw(port, f"/marketplace/status?salon_id={SALON}", {**headers, "If-None-Match": etag})
    assert head.startswith(b"HTTP/1.1 304") and body == b""
