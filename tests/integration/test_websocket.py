"""The status websocket against a real gunicorn (gthread) process, a real Redis and websocket-client."""
from __future__ import annotations

import json
import threading
import time

import pytest
import redis as redis_lib
import requests
import websocket

from models.live import LiveStatus
from tests.support import BIN, free_port, wait_for
from web.marketplace import session, tokens
from tests.integration.websocket_stack import (QR, assert_closed_with_error, connect, live, recv,  # noqa: F401
                                               recv_until, token_for, web)

pytestmark = pytest.mark.integration


def test_a_browser_that_connects_after_the_qr_was_published_gets_it_from_the_snapshot(web, settings, live):
    host = web()
    live.publish(7, "qr", QR, state="pending_whatsapp")
    ws = connect(host, token_for(settings, 7))
    snapshot = recv(ws)
    assert snapshot["type"] == "snapshot" and snapshot["salon_id"] == 7 and snapshot["seq"] == 1
    assert snapshot["data"]["qr"]["payload"] == "2@late-joiner"
    live.publish(7, "whatsapp_connected", {"phone": "79001234567"})
    event = recv(ws)
    assert event["type"] == "whatsapp_connected" and event["seq"] == 2
    ws.close()


def test_events_published_while_browsers_connect_arrive_without_a_gap(web, settings, live):
    """Subscribe first, then the snapshot: every client sees snapshot seq S, then S+1, S+2, … exactly."""
    host = web()
    stop = threading.Event()
    published = []

    def publisher():
        n = 0
        while not stop.is_set():
            n += 1
            published.append(live.publish(7, "sync", {"status": "running", "entity": "clients", "done": n,
                                                      "total": 10_000}))
            time.sleep(0.002)

    thread = threading.Thread(target=publisher, daemon=True)
    thread.start()
    try:
        sockets = []
        for _ in range(5):
            sockets.append(connect(host, token_for(settings, 7)))
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        stop.set()
        thread.join(5)
    last = published[-1]
    for ws in sockets:
        snapshot = recv(ws)
        assert snapshot["type"] == "snapshot"
        seqs = [snapshot["seq"]]
        while seqs[-1] < last:
            seqs.append(recv(ws)["seq"])
        assert seqs == list(range(snapshot["seq"], last + 1))  # contiguous: nothing lost, nothing twice
        ws.close()


def test_a_reconnect_resumes_from_its_last_seq_with_no_gap(web, settings, live):
    host = web()
    token = token_for(settings, 7)
    live.publish(7, "qr", QR)
    ws = connect(host, token)
    assert recv(ws)["seq"] == 1
    live.publish(7, "whatsapp_connected", {"phone": "79001234567"})
    assert recv(ws)["seq"] == 2
    ws.close()

    # Nothing happened while away: resuming at seq 2 sends no snapshot, just the next event.
    ws = connect(host, token, "?last_seq=2")
    ws.settimeout(0.7)
    with pytest.raises(websocket.WebSocketTimeoutException):
        ws.recv()
    live.publish(7, "activation", {"status": "started"})
    first = recv(ws)
    assert first["type"] == "activation" and first["seq"] == 3
    ws.close()

    # Events happened while away: the snapshot (seq 5) covers them, then the stream continues at 6.
    live.publish(7, "activation", {"status": "done"})
    live.publish(7, "sync", {"status": "running", "entity": "staff", "done": 1, "total": 4})
    ws = connect(host, token, "?last_seq=3")
    snapshot = recv(ws)
    assert snapshot["type"] == "snapshot" and snapshot["seq"] == 5
    assert snapshot["data"]["activation"]["status"] == "done" and snapshot["data"]["sync"]["done"] == 1
    live.publish(7, "sync", {"status": "running", "entity": "staff", "done": 2, "total": 4})
    assert recv(ws)["seq"] == 6
    ws.close()


def test_a_token_for_salon_a_never_receives_salon_b_events(web, settings, live):
    host = web()
    ws = connect(host, token_for(settings, 1))
    assert recv(ws)["salon_id"] == 1
    live.publish(2, "pairing_code", {"code": "SECRETB1", "expires_in": 60})
    live.publish(2, "qr", {**QR, "payload": "B"})
    live.publish(1, "qr", {**QR, "payload": "A"})
    event = recv(ws)
    assert event["salon_id"] == 1 and event["data"]["payload"] == "A"
    ws.settimeout(0.5)
    with pytest.raises(websocket.WebSocketTimeoutException):
        ws.recv()
    ws.close()
    # The query may narrow to one of the token's salons but never name another one.
    sneaky = connect(host, token_for(settings, 1), "?salon_id=2")
    assert_closed_with_error(sneaky, "forbidden_salon")


def test_a_multi_branch_token_streams_each_branch_and_may_pick_one(web, settings, live):
    host = web()
    ws = connect(host, token_for(settings, 501, 502))
    assert sorted(recv(ws)["salon_id"] for _ in range(2)) == [501, 502]
    live.publish(502, "whatsapp_connected", {"phone": "79001112233"})
    assert recv(ws)["salon_id"] == 502
    ws.close()
    only = connect(host, token_for(settings, 501, 502), "?salon_id=501")
    assert recv(only)["salon_id"] == 501
    live.publish(502, "complete", {})
    live.publish(501, "complete", {})
    assert recv(only)["salon_id"] == 501
    only.close()


@pytest.mark.parametrize("make, code", [
    (lambda s: token_for(s, 7, now=time.time() - tokens.SESSION_TTL - 5), "token_expired"),
    (lambda s: tokens.issue("a-different-secret-0000000000000000", tokens.SESSION, [7], 1), "unauthorized"),
    (lambda s: tokens.issue(s.jwt_secret, tokens.LINK, [7], 1), "unauthorized"),  # the one-time link is no session
])
def test_expired_forged_or_wrong_tokens_get_an_error_event_and_a_close(web, settings, live, make, code):
    host = web()
    live.publish(7, "qr", QR)
    assert_closed_with_error(connect(host, make(settings)), code)


def test_a_client_without_cookies_may_send_its_token_first(web, settings, live):
    host = web()
    live.publish(7, "qr", QR)
    ws = connect(host)
    ws.send(json.dumps({"token": token_for(settings, 7), "last_seq": 0}))
    assert recv(ws)["data"]["qr"]["payload"] == QR["payload"]
    ws.close()
    anonymous = connect(host)
    anonymous.send(json.dumps({"hello": 1}))
    assert_closed_with_error(anonymous, "unauthorized")


def test_one_listener_per_process_serves_every_socket(web, settings, live, redis_client):
    host = web()
    sockets = [connect(host, token_for(settings, i)) for i in range(1, 7)]
    for ws in sockets:
        recv(ws)
    pubsub_clients = [c for c in redis_client.client_list() if int(c.get("psub", 0)) or int(c.get("sub", 0))]
    assert len(pubsub_clients) == 1 and pubsub_clients[0]["psub"] == "1"
    for ws in sockets:
        ws.close()


def test_the_listener_reconnects_and_no_event_is_silently_lost(web, settings, live, redis_client):
    host = web()
    ws = connect(host, token_for(settings, 7))
    assert recv(ws)["seq"] == 0
    redis_client.client_kill_filter(_type="pubsub")  # Redis drops our subscriber (e.g. output buffer limit)
    live.publish(7, "qr", QR)  # probably published while nobody listened
    message = recv(ws, timeout=10)  # either the event itself or a resync snapshot that contains it
    assert message["seq"] == 1 and (message.get("data") or {}).get("qr", message["data"])["payload"] == QR["payload"]
    wait_for(lambda: any(int(c.get("psub", 0)) for c in redis_client.client_list()), message="resubscribed")
    live.publish(7, "whatsapp_connected", {"phone": "7900"})
    assert recv(ws)["seq"] == 2
    ws.close()


def test_per_ip_connection_limit_and_slots_are_released_on_disconnect(web, settings, live):
    host = web()
    token = token_for(settings, 7)
    sockets = [connect(host, token) for _ in range(10)]
    for ws in sockets:
        recv(ws)
    assert_closed_with_error(connect(host, token), "too_many_connections")
    sockets.pop().close()

    def a_slot_is_free():
        ws = connect(host, token)
        first = recv(ws)
        ws.close()
        return first["type"] == "snapshot"

    wait_for(a_slot_is_free, timeout=10, interval=0.3, message="the closed socket's slot to be released")
    for ws in sockets:
        ws.close()


def test_production_accepts_only_allowed_origins(web, settings, live):
    prod = settings.replace(app_env="production", public_base_url="https://adminai.tech",
                            waha_webhook_secret="w" * 32, health_token="h" * 32)  # production wants 32+ chars
    host = web(prod)
    token = token_for(settings, 7)
    for origin in ("https://adminai.tech", "https://yclients.com", "https://n997441.yclients.com"):
        ws = connect(host, token, origin=origin)
        assert recv(ws)["type"] == "snapshot", origin
        ws.close()
    for origin in ("https://evil.example", "https://n997441.yclients.com.evil.example", "http://adminai.tech"):
        assert_closed_with_error(connect(host, token, origin=origin), "bad_origin")


def test_polling_and_the_socket_agree(web, settings, live):
    host = web()
    live.publish(7, "sync", {"status": "running", "entity": "clients", "done": 5, "total": 9})
    token = token_for(settings, 7)
    polled = requests.get(f"http://{host}/marketplace/status", cookies={session.COOKIE: token}, timeout=5).json()
    ws = connect(host, token)
    pushed = recv(ws)
    ws.close()
    assert polled["seq"] == pushed["seq"] == 1 and polled["data"] == pushed["data"]


def test_an_open_socket_starts_over_when_the_snapshot_is_lost(web, settings, live, redis_client):
    """Redis flushed (or restarted) under an open socket: its seq counter begins again below what the page
    saw, so plain forwarding would drop every new event as 'already seen'; a seq-0 snapshot starts over."""
    from models.live import snapshot_key

    host = web()
    ws = connect(host, token_for(settings, 7))
    assert recv(ws)["type"] == "snapshot"
    for _ in range(3):
        live.publish(7, "qr", QR)
        recv(ws)
    redis_client.delete(snapshot_key(7))
    live.publish(7, "activation", {"status": "done"}, state="active")
    fresh = recv_until(ws, lambda m: m["type"] == "snapshot")
    assert fresh["seq"] == 0
    assert fresh["data"]["activation"]["status"] == "done" and fresh["data"]["state"] == "active"
    assert fresh["data"]["activation"]["message"] == "Интеграция с YCLIENTS активна."  # the web's words
    live.publish(7, "welcome", {"status": "sent"})
    assert recv(ws)["type"] == "welcome"  # and it follows the new counter from there
    ws.close()
