"""The `/metrics` answer shared by web and the bridge: bearer check, then Prometheus text."""
from __future__ import annotations

import hmac

from flask import Response, request

from runtime import metrics


def authorised(token: str, header: str) -> bool:
    """Open when HEALTH_TOKEN is empty; otherwise Prometheus must send it as a bearer token."""
    if not token:
        return True
    return header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode())


def respond(token: str, collectors=()):
    if not authorised(token, request.headers.get("Authorization", "")):
        return Response("unauthorized\n", 401, {"WWW-Authenticate": "Bearer", "Content-Type": "text/plain"})
    body, content_type = metrics.current().render(collectors)
    return Response(body, 200, {"Content-Type": content_type, "Cache-Control": "no-store"})
