"""The `/metrics` answer shared by web and the bridge: bearer check, then Prometheus text."""
from __future__ import annotations

import hmac


def authorised(token: str, header: str, production: bool = False) -> bool:
    """Prometheus must send HEALTH_TOKEN as a bearer token. Without a token the endpoint is open in development
    only: production never serves it unauthenticated (settings refuse to start without one anyway)."""
    if not token:
        return not production
    return header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode())


def respond(settings, collectors=()):
    from flask import Response, request

    from workers import metrics

    if not authorised(settings.health_token, request.headers.get("Authorization", ""), settings.is_production):
        return Response("unauthorized\n", 401, {"WWW-Authenticate": "Bearer", "Content-Type": "text/plain"})
    body, content_type = metrics.current().render(collectors)
    return Response(body, 200, {"Content-Type": content_type, "Cache-Control": "no-store"})
