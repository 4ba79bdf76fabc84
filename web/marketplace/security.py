"""Security headers for every response, a strict CSP for the onboarding page, the websocket origin allowlist."""
from __future__ import annotations

import re
from urllib.parse import urlparse

from flask import Flask, request

# The onboarding page: no inline script, nothing from another origin; the QR is an <img> with an SVG data URL.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self' {ws}; font-src 'self'; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")
# Everything else that is HTML (error pages) has no script at all and one inline <style>.
DEFAULT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
               "form-action 'self'; frame-ancestors 'none'")

# On every answer, whatever its type (the webhook fast path, web/webhook_wsgi.py, adds them itself).
EVERY_ANSWER = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer"))

ALLOWED_ORIGINS = ("https://yclients.com",)
SALON_SUBDOMAIN = re.compile(r"^https://n\d+\.yclients\.com$")  # incident S-11: n997441.yclients.com


def page_csp() -> str:
    host = request.host
    return PAGE_CSP.format(ws=f"ws://{host} wss://{host}")


def install(app: Flask) -> None:
    @app.after_request
    def _headers(response):
        headers = response.headers
        for name, value in EVERY_ANSWER:
            headers.setdefault(name, value)
        if response.mimetype == "text/html":
            headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
            headers.setdefault("Cache-Control", "no-store")
        return response


def origin_of(url: str) -> str:
    parts = urlparse(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def origin_allowed(origin: str | None, public_base_url: str, production: bool) -> bool:
    """Production accepts our own origin, yclients.com and the salons' nNNN.yclients.com; development anything."""
    if not production:
        return True
    if not origin:
        return False
    origin = origin.strip().lower().rstrip("/")
    return origin == origin_of(public_base_url) or origin in ALLOWED_ORIGINS or bool(SALON_SUBDOMAIN.match(origin))
