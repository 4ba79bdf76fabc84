"""Property: the page's commands (pairing code, restart linking) under junk bodies, phones and content types:
never a 5xx, nothing enqueued or written unless the request is valid, oversized bodies refused with 413."""
from __future__ import annotations

import json

from hypothesis import example, given, strategies as st

from tests.fakes.fuzz import FUZZ, new_client, row_counts
from web.marketplace import tokens, validation

SALON = 962302
scalars = st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats() | st.text(max_size=40)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=10)
phones = st.one_of(scalars, st.from_regex(r"[+8]?[\d\s()\-.]{0,40}", fullmatch=True),
                   st.sampled_from(["+7 900 123-45-67", "89001234567", "٧٩٠٠١٢٣٤٥٦٧", "7900123456７", "0" * 12,
                                    "+7900123456789012345", "７９００１２３４５６７"]))
bodies = st.one_of(
    st.fixed_dictionaries({"phone": phones}, optional={"salon_id": scalars | st.just(SALON) | st.just(SALON + 1)}),
    json_values)
content_types = st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded",
                                 "application/json; charset=latin-1", "application/vnd.api+json", ""])


def _signed_in(app, settings):
    c = new_client(app)
    link = tokens.issue(settings.jwt_secret, tokens.LINK, [SALON], 42)
    assert c.get(f"/marketplace/onboarding?token={link}").status_code == 302
    return c


@FUZZ
@given(body=bodies, content_type=content_types, path=st.sampled_from(["/marketplace/pairing-code",
                                                                      "/marketplace/restart-linking"]))
@example(body={"phone": "٧٩٠٠١٢٣٤٥٦٧"}, content_type="application/json", path="/marketplace/pairing-code")
@example(body={"phone": "７９００１２３４５６７"}, content_type="application/json", path="/marketplace/pairing-code")
@example(body={"phone": "79001234567", "salon_id": "９６２３０２"}, content_type="application/json",
         path="/marketplace/pairing-code")
def test_junk_page_commands_never_5xx_and_only_valid_ones_enqueue(web_app, settings, redis_client, jobs, body,
                                                                  content_type, path):
    redis_client.flushdb()  # locks and rate limits start fresh for every example
    c = _signed_in(web_app, settings)
    before, sent = row_counts(), len(jobs.sent)
    response = c.post(path, data=json.dumps(body), content_type=content_type)
    assert response.status_code < 500, (body, response.status_code, response.get_data()[:200])
    assert row_counts() == before  # a page command never writes the database; it only enqueues
    valid = (isinstance(body, dict) and content_type in ("application/json", "application/vnd.api+json",
                                                         "application/json; charset=latin-1")
             and body.get("salon_id") in (None, "", SALON, str(SALON))
             and (path.endswith("restart-linking") or validation.phone(body.get("phone")) is not None))
    if response.status_code == 202:
        assert valid, body
        actor = "request_pairing_code" if path.endswith("pairing-code") else "restart_linking"
        assert jobs.calls()[-1][:2] == (actor, SALON) and len(jobs.sent) == sent + 1
        if actor == "request_pairing_code":
            digits = jobs.calls()[-1][2]
            assert digits.isascii() and digits.isdigit() and 10 <= len(digits) <= 15  # what the gateway accepts
    else:
        assert 400 <= response.status_code < 500 and len(jobs.sent) == sent
        assert response.is_json and response.get_json()["error"]


@FUZZ
@given(body=bodies)
def test_page_commands_without_a_session_are_refused_before_reading_the_body(client, redis_client, jobs, body):
    before = row_counts()
    for path in ("/marketplace/pairing-code", "/marketplace/restart-linking"):
        response = client.post(path, json=body)
        assert response.status_code == 401 and response.get_json()["error"] == "unauthorized"
    assert row_counts() == before and not jobs.sent


def test_an_oversized_pairing_request_is_refused_with_413(web_app, settings, jobs):
    c = _signed_in(web_app, settings)
    response = c.post("/marketplace/pairing-code", data=json.dumps({"phone": "79001234567", "pad": "x" * 400_000}),
                      content_type="application/json")
    assert response.status_code == 413 and not jobs.sent
