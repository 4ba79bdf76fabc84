"""Forged, foreign and misused tokens are refused by every HTTP entry point of the onboarding page."""
from __future__ import annotations

import pytest

from models.salon import Salon
from tests.fakes.fuzz import new_client, row_counts
from tests.fakes.forged import OTHER, SALON, forged_tokens
from web.marketplace import session, tokens

SECRET = "test-jwt-secret-0123456789abcdef"  # tests/conftest.py settings.jwt_secret
SESSION_FORGERIES = sorted(forged_tokens(SECRET, tokens.SESSION))
LINK_FORGERIES = sorted(forged_tokens(SECRET, tokens.LINK))


def _with_cookie(app, value):
    c = new_client(app)
    c.set_cookie(session.COOKIE, value, domain="localhost")
    return c


def _assert_unauthorised_everywhere(c, jobs):
    page = c.get("/marketplace/onboarding")
    assert page.status_code == 401 and page.mimetype == "text/html"
    assert "маркетплейс" in page.get_data(as_text=True)  # says where to start again, in Russian
    status = c.get("/marketplace/status")
    assert status.status_code == 401 and status.get_json()["error"] in ("unauthorized", "token_expired")
    for path in ("/marketplace/pairing-code", "/marketplace/restart-linking"):
        response = c.post(path, json={"phone": "79001234567"})
        assert response.status_code == 401, path
    assert not jobs.sent


@pytest.mark.filterwarnings("ignore:The 'aiadmin_onboarding' cookie is too large")  # the "oversized" case
@pytest.mark.parametrize("kind", SESSION_FORGERIES)
def test_a_forged_or_misused_session_cookie_is_refused_by_page_status_and_commands(web_app, settings, jobs, kind):
    assert settings.jwt_secret == SECRET
    Salon.create(salon_id=SALON, title="Салон")
    _assert_unauthorised_everywhere(_with_cookie(web_app, forged_tokens(SECRET, tokens.SESSION)[kind]), jobs)


def test_a_link_token_in_the_cookie_is_not_a_session(web_app, jobs):
    link = tokens.issue(SECRET, tokens.LINK, [SALON], 42)
    _assert_unauthorised_everywhere(_with_cookie(web_app, link), jobs)


@pytest.mark.parametrize("kind", LINK_FORGERIES)
def test_a_forged_or_misused_link_is_refused_and_sets_no_cookie(web_app, redis_client, kind):
    c = new_client(web_app)
    before = row_counts()
    response = c.get("/marketplace/onboarding", query_string={"token": forged_tokens(SECRET, tokens.LINK)[kind]})
    assert response.status_code == 401 and response.mimetype == "text/html"
    assert "Set-Cookie" not in response.headers
    assert row_counts() == before and not redis_client.keys("aiadmin:jti:*")  # nothing claimed either


def test_a_session_token_is_not_a_link(web_app):
    response = new_client(web_app).get("/marketplace/onboarding",
                                       query_string={"token": tokens.issue(SECRET, tokens.SESSION, [SALON], 42)})
    assert response.status_code == 401 and "Set-Cookie" not in response.headers


def test_a_one_time_link_reused_from_another_browser_is_refused(web_app):
    link = tokens.issue(SECRET, tokens.LINK, [SALON], 42)
    assert new_client(web_app).get("/marketplace/onboarding", query_string={"token": link}).status_code == 302
    thief = new_client(web_app)
    response = thief.get("/marketplace/onboarding", query_string={"token": link})
    assert response.status_code == 409 and "Set-Cookie" not in response.headers
    assert thief.get("/marketplace/status").status_code == 401


def test_another_salons_session_reaches_none_of_this_salons_endpoints(web_app, jobs):
    c = _with_cookie(web_app, tokens.issue(SECRET, tokens.SESSION, [OTHER], 42))
    for salon_id in (SALON, str(SALON), [SALON], {"id": SALON}):
        assert c.get("/marketplace/status", query_string={"salon_id": str(salon_id)}).status_code == 403
        for path in ("/marketplace/pairing-code", "/marketplace/restart-linking"):
            response = c.post(path, json={"salon_id": salon_id, "phone": "79001234567"})
            assert response.status_code == 403, (path, salon_id)
    assert not jobs.sent
    assert c.get("/marketplace/status").get_json()["salon_id"] == OTHER  # its own salon, by default


def test_the_link_in_the_url_carries_no_personal_data_and_leaves_the_address_bar(client, settings):
    """S-19: the token that travels in a URL (history, proxy logs) is one-time and holds ids only."""
    import jwt

    from tests.fakes.onboarding import SAMPLE_USER, signed_query

    answer = client.get(f"/auth/yclients/redirect?{signed_query(settings.yclients_partner_token)}")
    link = answer.headers["Location"].split("token=", 1)[1]
    claims = jwt.decode(link, options={"verify_signature": False})
    assert set(claims) == {"typ", "salons", "installer", "gens", "jti", "iat", "exp", "iss"}
    text = str(claims)
    for personal in ("Иванов", "9001234567", "example.com", "Пример"):
        assert personal not in text
    assert claims["exp"] - claims["iat"] <= 3600
    exchanged = client.get(answer.headers["Location"])
    assert exchanged.status_code == 302 and exchanged.headers["Location"] == "/marketplace/onboarding"
    assert SAMPLE_USER["email"] not in exchanged.headers["Set-Cookie"]
