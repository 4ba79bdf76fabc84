"""The status websocket under abuse, on a real gunicorn process: forged tokens, garbage frames, connection
floods. It refuses with an `error` event and a close, never crashes, and keeps serving honest browsers."""
from __future__ import annotations

import json

import pytest
import websocket
from hypothesis import example, given, strategies as st

from tests.integration.websocket_stack import (QR, assert_closed_with_error, connect, fresh, live, recv,  # noqa: F401
                                               token_for, web)
from tests.fakes.fuzz import FUZZ
from tests.fakes.forged import forged_tokens
from web.marketplace import tokens

pytestmark = pytest.mark.integration

SALON = 962302
OTHER = 997441
REFUSALS = {"unauthorized", "token_expired", "forbidden_salon", "bad_request"}


@pytest.fixture
def host(web):
    return web()


def _error_code(ws) -> str:
    message = recv(ws)
    assert message["type"] == "error", message
    return message["data"]["code"]


@pytest.mark.parametrize("kind", sorted(forged_tokens("test-jwt-secret-0123456789abcdef")))
def test_forged_session_tokens_are_refused_as_cookie_and_as_first_message(host, settings, redis_client, kind):
    forged = forged_tokens(settings.jwt_secret)[kind]
    expected = "token_expired" if kind == "expired" else "unauthorized"
    if len(forged) < 3500:  # a browser would not even send a larger cookie
        assert_closed_with_error(connect(host, forged), expected)
    ws = connect(host)
    ws.send(json.dumps({"token": forged}))
    if len(forged) > 4000:  # past max_message_size: the frame itself closes the socket
        _assert_closed(ws)
    else:
        assert_closed_with_error(ws, expected)
    redis_client.flushdb()  # keep the per-address connection budget for the next case


def _assert_closed(ws):
    ws.settimeout(5)
    with pytest.raises((websocket.WebSocketException, ConnectionError, OSError)):
        for _ in range(10):
            if ws.recv() in ("", None):
                raise websocket.WebSocketConnectionClosedException()


def test_a_one_time_link_is_not_a_websocket_session(host, settings):
    ws = connect(host)
    ws.send(json.dumps({"token": tokens.issue(settings.jwt_secret, tokens.LINK, [SALON], 42)}))
    assert_closed_with_error(ws, "unauthorized")


def test_another_salons_session_cannot_widen_to_this_salon(host, settings, live):
    live.publish(SALON, "qr", QR)
    assert_closed_with_error(connect(host, token_for(settings, OTHER), query=f"?salon_id={SALON}"), "forbidden_salon")
    ws = connect(host)
    ws.send(json.dumps({"token": token_for(settings, OTHER), "salon_id": SALON}))
    assert_closed_with_error(ws, "forbidden_salon")
    own = connect(host, token_for(settings, OTHER))
    snapshot = recv(own)
    assert snapshot["salon_id"] == OTHER and snapshot["data"]["qr"] is None  # never salon A's QR
    own.close()


json_junk = st.recursive(st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats()
                         | st.text(max_size=30),
                         lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                      max_size=3), max_leaves=8)


@FUZZ.__class__(parent=FUZZ, max_examples=60)
@given(last_seq=json_junk, salon_id=json_junk, token_kind=st.sampled_from(["valid", "junk", "absent"]),
       token_junk=json_junk)
@example(last_seq=float("inf"), salon_id=None, token_kind="valid", token_junk=None)
@example(last_seq=None, salon_id=float("inf"), token_kind="valid", token_junk=None)
@example(last_seq={"962302": float("inf")}, salon_id=None, token_kind="valid", token_junk=None)
@example(last_seq=None, salon_id=None, token_kind="junk", token_junk=12345)
@example(last_seq=None, salon_id=None, token_kind="junk", token_junk=["a"])
def test_a_junk_first_message_is_answered_with_a_snapshot_or_a_refusal_never_a_crash(
        host, settings, redis_client, last_seq, salon_id, token_kind, token_junk):
    redis_client.flushdb()
    hello = {"last_seq": last_seq, "salon_id": salon_id}
    if token_kind == "valid":
        hello["token"] = token_for(settings, SALON)
    elif token_kind == "junk":
        hello["token"] = token_junk
    ws = fresh(host)
    ws.send(json.dumps(hello, allow_nan=True))
    message = recv(ws)
    if message["type"] == "error":
        assert message["data"]["code"] in REFUSALS, (hello, message)  # never "unavailable": nothing crashed
    else:
        assert message["type"] == "snapshot" and token_kind == "valid" and message["salon_id"] == SALON
    ws.close()


@FUZZ.__class__(parent=FUZZ, max_examples=40)
@given(frame=st.one_of(st.binary(max_size=200), st.text(max_size=200), json_junk.map(json.dumps)))
def test_garbage_frames_never_crash_the_socket(host, settings, redis_client, live, frame):
    redis_client.flushdb()
    ws = fresh(host)
    if isinstance(frame, bytes):
        ws.send_binary(frame)
    else:
        ws.send(frame)
    message = recv(ws)
    assert message["type"] == "error" and message["data"]["code"] in REFUSALS
    # An authorised socket ignores chatter and keeps streaming.
    good = fresh(host, token_for(settings, SALON))
    assert recv(good)["type"] == "snapshot"
    (good.send_binary if isinstance(frame, bytes) else good.send)(frame)
    live.publish(SALON, "qr", QR)
    assert recv(good)["type"] == "qr"
    good.close()


def test_an_oversized_frame_closes_only_that_socket(host, settings, live):
    other = connect(host, token_for(settings, SALON))
    assert recv(other)["type"] == "snapshot"
    ws = connect(host, token_for(settings, SALON))
    assert recv(ws)["type"] == "snapshot"
    ws.send("x" * 100_000)  # over max_message_size
    _assert_closed(ws)
    live.publish(SALON, "qr", QR)
    assert recv(other)["type"] == "qr"
    other.close()


def test_a_connection_flood_from_one_address_is_refused_and_other_addresses_still_connect(host, settings):
    def from_ip(ip, token):
        return websocket.create_connection(f"ws://{host}/marketplace/ws", timeout=5,
                                           header=[f"Cookie: aiadmin_onboarding={token}", f"X-Forwarded-For: {ip}"])
    # Forged cookies are answered and closed at once, so only the per-minute budget (30 per address, across
    # processes) is exercised here, not the concurrent-socket cap (tests/integration/test_websocket.py).
    codes = []
    for _ in range(33):
        ws = from_ip("198.51.100.7", "forged")
        message = recv(ws)
        codes.append(message["data"]["code"])
        ws.close()
    assert codes == ["unauthorized"] * 30 + ["too_many_connections"] * 3
    assert_closed_with_error(from_ip("198.51.100.7", token_for(settings, SALON)), "too_many_connections")
    other = from_ip("203.0.113.20", token_for(settings, SALON))
    assert recv(other)["type"] == "snapshot"
    other.close()
