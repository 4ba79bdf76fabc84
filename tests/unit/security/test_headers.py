"""Security headers on every kind of response, not only the page; the session cookie's flags in production."""
from __future__ import annotations

from models.live import LiveStatus
from tests.fakes.onboarding import RecordingJobs, ReopeningClient, signed_query
from web import create_app
from tests.support import container_for
from web.marketplace import session, tokens


def _requests(settings):
    link = tokens.issue(settings.jwt_secret, tokens.LINK, [962302], 42)
    return {
        "redirect ok": ("get", f"/auth/yclients/redirect?{signed_query(settings.yclients_partner_token)}", {}),
        "redirect refused": ("get", "/auth/yclients/redirect?salon_id=1", {}),
        "link exchange": ("get", f"/marketplace/onboarding?token={link}", {}),
        "page without session": ("get", "/marketplace/onboarding", {}),
        "status refused": ("get", "/marketplace/status", {}),
        "pairing refused": ("post", "/marketplace/pairing-code", {"json": {"phone": "79001234567"}}),
        "webhook refused": ("post", "/webhook/yclients", {"json": {"event": "uninstall", "salon_id": 1}}),
        "not found": ("get", "/nope", {}),
        "health": ("get", "/marketplace/health", {}),
    }


def test_every_response_carries_nosniff_no_framing_and_no_referrer(client, settings):
    for name, (method, url, kwargs) in _requests(settings).items():
        response = getattr(client, method)(url, **kwargs)
        assert response.status_code < 500, name
        headers = response.headers
        assert headers.get("X-Content-Type-Options") == "nosniff", name
        assert headers.get("X-Frame-Options") == "DENY", name
        assert headers.get("Referrer-Policy") == "no-referrer", name  # the one-time link never leaks onward
        if response.mimetype == "text/html":
            csp = headers.get("Content-Security-Policy", "")
            assert "frame-ancestors 'none'" in csp and "base-uri 'none'" in csp, name
            assert "script-src" not in csp or "unsafe-inline" not in csp.split("script-src")[1].split(";")[0], name
            assert headers.get("Cache-Control") == "no-store", name
            body = response.get_data(as_text=True)
            if response.status_code >= 400:
                assert "<script" not in body and "Traceback" not in body, name  # error pages run no script


def test_the_production_session_cookie_is_httponly_secure_lax_and_short_lived(settings, database, redis_client):
    prod = settings.replace(app_env="production", public_base_url="https://adminai.tech")
    context = container_for(settings=prod, database=database, redis=redis_client, jobs=RecordingJobs(),
                         live=LiveStatus(redis_client))
    c = ReopeningClient(create_app(prod, container=context).test_client(), database)
    link = tokens.issue(prod.jwt_secret, tokens.LINK, [962302], 42)
    response = c.get(f"/marketplace/onboarding?token={link}")
    assert response.status_code == 302 and response.headers["Location"] == "/marketplace/onboarding"
    cookie = response.headers["Set-Cookie"]
    flags = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert cookie.startswith(session.COOKIE + "=")
    assert "httponly" in flags and "secure" in flags and flags["samesite"] == "SameSite=Lax"
    assert flags["path"] == "Path=/" and "domain" not in flags  # host-only: no sibling subdomain gets it
    assert 0 < int(flags["max-age"].split("=")[1]) <= tokens.SESSION_TTL <= 12 * 3600
    assert response.headers["Cache-Control"] == "no-store"
