"""The websocket's first message (the cookie-less token) on a real gunicorn process: deeply nested or bracket-laden
JSON is refused as `unauthorized`, never the `unavailable` of a crashed handler, and the socket keeps serving."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings as hyp_settings

from tests.integration.websocket_stack import assert_closed_with_error, fresh, live, recv, token_for, web  # noqa: F401
from tests.fakes.fuzz import FUZZ
from tests.fakes.json_bodies import nested

pytestmark = pytest.mark.integration

# Each example is a real socket on a real process: fewer examples than the in-process fuzzers.
FUZZ_WS = hyp_settings(FUZZ, max_examples=40)
nested_frames = nested().filter(lambda raw: len(raw) <= 4000)  # a larger frame closes the socket unread


@pytest.fixture
def host(web):
    return web()

DEEP = ["[" * 1000, "[" * 4000, '{"token":' * 300 + '"x"' + "}" * 300, '{"token": "' + "[" * 3000 + '"}',
        '{"a":' * 33 + "1" + "}" * 33]


@pytest.mark.parametrize("frame", DEEP, ids=["1000-brackets", "4000-brackets", "300-objects", "brackets-in-string",
                                             "33-levels"])
def test_a_nested_first_message_is_refused_as_unauthorized_not_a_crash(web, settings, live, frame):
    host = web()
    ws = fresh(host)
    ws.send(frame)
    assert_closed_with_error(ws, "unauthorized")
    live.publish(7, "qr", {"payload": "2@abc", "svg": "<svg/>", "expires_in": 60})
    honest = fresh(host)  # the process is still serving
    honest.send(json.dumps({"token": token_for(settings, 7)}))
    assert recv(honest)["type"] == "snapshot"


@FUZZ_WS
@given(raw=nested_frames)
def test_property_any_nesting_in_the_first_message_is_refused_never_a_crash(host, raw):
    ws = fresh(host)
    ws.send(raw.decode())
    message = recv(ws)
    assert message["type"] == "error" and message["data"]["code"] == "unauthorized", (raw[:60], message)
