"""Onboarding tokens: signed, typed, expiring, exchanged once."""
from __future__ import annotations

import time

import jwt
import pytest

from web.marketplace import tokens

SECRET = "test-jwt-secret-0123456789abcdef"


def test_a_link_token_round_trips_its_claims():
    token = tokens.issue(SECRET, tokens.LINK, [962302, 962303], 1234567)
    claims = tokens.verify(SECRET, token, tokens.LINK)
    assert claims.salon_ids == (962302, 962303) and claims.installer_id == 1234567
    assert claims.expires_at - claims.issued_at == tokens.LINK_TTL == 3600
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert claims.allows(962303) and not claims.allows(1)


def test_every_token_has_a_unique_id():
    ids = {tokens.verify(SECRET, tokens.issue(SECRET, tokens.LINK, [1], None), tokens.LINK).jti for _ in range(20)}
    assert len(ids) == 20


def test_an_expired_token_is_refused_as_expired():
    old = tokens.issue(SECRET, tokens.LINK, [1], None, now=time.time() - tokens.LINK_TTL - 5)
    with pytest.raises(tokens.TokenError) as exc:
        tokens.verify(SECRET, old, tokens.LINK)
    assert exc.value.reason == "expired"


@pytest.mark.parametrize("make", [
    lambda: tokens.issue("another-secret-of-some-length-000", tokens.LINK, [1], None),  # forged
    lambda: tokens.issue(SECRET, tokens.LINK, [1], None)[:-3] + "abc",  # tampered signature
    lambda: jwt.encode({"typ": tokens.LINK, "salons": [1], "jti": "x", "iat": int(time.time()),
                        "exp": int(time.time()) + 60, "iss": tokens.ISSUER}, SECRET, algorithm="HS512"),
    lambda: jwt.encode({"typ": tokens.LINK, "salons": [1], "jti": "x", "iat": int(time.time()),
                        "exp": int(time.time()) + 60, "iss": tokens.ISSUER}, None, algorithm="none"),
    lambda: jwt.encode({"typ": tokens.LINK, "salons": ["1; drop"], "jti": "x", "iat": int(time.time()),
                        "exp": int(time.time()) + 60, "iss": tokens.ISSUER}, SECRET, algorithm="HS256"),
    lambda: jwt.encode({"typ": tokens.LINK, "salons": [1], "iat": int(time.time()),
                        "exp": int(time.time()) + 60, "iss": tokens.ISSUER}, SECRET, algorithm="HS256"),
    lambda: "not-a-jwt",
])
def test_forged_or_malformed_tokens_are_invalid(make):
    with pytest.raises(tokens.TokenError) as exc:
        tokens.verify(SECRET, make(), tokens.LINK)
    assert exc.value.reason == "invalid"


def test_a_link_token_is_not_a_session_token_and_vice_versa():
    link = tokens.issue(SECRET, tokens.LINK, [1], None)
    session = tokens.issue(SECRET, tokens.SESSION, [1], None)
    for token, wrong in ((link, tokens.SESSION), (session, tokens.LINK)):
        with pytest.raises(tokens.TokenError) as exc:
            tokens.verify(SECRET, token, wrong)
        assert exc.value.reason == "wrong_type"


def test_a_missing_token_is_reported_as_missing():
    with pytest.raises(tokens.TokenError) as exc:
        tokens.verify(SECRET, "", tokens.SESSION)
    assert exc.value.reason == "missing"


def test_a_token_can_be_claimed_only_once(redis_client):
    claims = tokens.verify(SECRET, tokens.issue(SECRET, tokens.LINK, [1], None), tokens.LINK)
    assert tokens.claim_once(redis_client, claims) is True
    assert tokens.claim_once(redis_client, claims) is False
    # The mark outlives the token itself, so it cannot be reused before it expires.
    ttl = redis_client.ttl("aiadmin:jti:" + claims.jti)
    assert tokens.LINK_TTL <= ttl <= tokens.LINK_TTL + 61
