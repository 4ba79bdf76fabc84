"""Property: whatever the query of `GET /auth/yclients/redirect`, never a 5xx, and nothing written unless signed."""
from __future__ import annotations

import base64
import json

from hypothesis import given, strategies as st

from tests.fakes.onboarding import signed_query
from tests.fakes.fuzz import FUZZ, row_counts
from web.marketplace import userdata

PATH = "/auth/yclients/redirect"

names = st.sampled_from(["salon_id", "salon_ids[]", "salon_ids", "salon_ids[0]", "salon_ids[1]", "salon_ids[999]",
                         "user_data", "user_data_sign", "user_id", "user_phone", "token", "salon_ids[-1]",
                         "salon_ids[x]"]) | st.text(max_size=20)
junk_values = st.one_of(
    st.text(max_size=64),
    st.from_regex(r"-?\d{1,40}", fullmatch=True),
    st.sampled_from(["0", "-1", "1e3", "0x10", "１２３", "٣", " 7 ", "9" * 17, "9007199254740993", "NaN", "null", "[]"]),
    st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode()),
    # Huge values: longer than user_data may be, and far longer than any id.
    st.tuples(st.text(min_size=1, max_size=8, alphabet="Aa0+/=-_é"), st.integers(1000, 20000)).map(lambda t: t[0] * t[1]),
    st.from_regex(r"[0-9a-fA-F]{64}", fullmatch=True),
)
queries = st.lists(st.tuples(names, junk_values), max_size=8)


def _get(client, params):
    return client.get(PATH, query_string=params)


def _assert_refused_without_a_write(response, before, jobs, sent_before):
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    assert response.status_code != 302 or response.headers["Location"].startswith("/marketplace/onboarding")
    if response.status_code >= 400:
        assert row_counts() == before
        assert len(jobs.sent) == sent_before
        assert "Traceback" not in response.get_data(as_text=True)


@FUZZ
@given(params=queries)
def test_unsigned_junk_queries_never_5xx_and_never_write(client, redis_client, jobs, params):
    redis_client.flushdb()  # rate limits and one-time signatures start fresh for every example
    before, sent = row_counts(), len(jobs.sent)
    response = _get(client, params)
    # Without a signature made with OUR partner token nothing may pass (S-1, S-2, S-5).
    assert 400 <= response.status_code < 500, (params, response.status_code)
    _assert_refused_without_a_write(response, before, jobs, sent)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)
user_fields = st.fixed_dictionaries({}, optional={
    "id": json_values | st.integers(min_value=-2, max_value=2 ** 70),
    "name": json_values | st.text(min_size=1, max_size=5).map(lambda t: t * 500),
    "phone": json_values | st.from_regex(r"\+?[78]?\d{0,20}", fullmatch=True),
    "email": json_values | st.emails(),
    "salon_name": json_values | st.text(max_size=400),
    "is_approved": json_values,
})
signed_payloads = st.one_of(
    user_fields.map(lambda d: json.dumps(d, ensure_ascii=False).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),  # valid JSON that is not an object
    st.binary(max_size=200),  # not JSON, maybe not UTF-8
)
salon_parts = st.lists(st.tuples(st.sampled_from(["salon_id", "salon_ids[]", "salon_ids[0]", "salon_ids[3]"]),
                                 junk_values | st.integers(1, 10 ** 7).map(str)), max_size=4)


@FUZZ
@given(raw=signed_payloads, salons=salon_parts, urlsafe=st.booleans())
def test_signed_junk_user_data_never_5xx_and_refusals_write_nothing(client, settings, redis_client, jobs, raw,
                                                                    salons, urlsafe):
    redis_client.flushdb()
    encoded = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw).decode()
    params = salons + [("user_data", encoded),
                       ("user_data_sign", userdata.sign(raw, settings.yclients_partner_token))]
    before, sent = row_counts(), len(jobs.sent)
    response = _get(client, params)
    _assert_refused_without_a_write(response, before, jobs, sent)
    if response.status_code == 302:  # signed and sane: exactly the salons asked for were recorded
        assert row_counts()["salon"] >= before["salon"]
        assert "token=" in response.headers["Location"]


def test_a_valid_redirect_still_passes_the_fuzzed_gate(client, settings):
    """The properties above are not vacuous: a genuine signed redirect is accepted."""
    response = client.get(f"{PATH}?{signed_query(settings.yclients_partner_token)}")
    assert response.status_code == 302 and "token=" in response.headers["Location"]
