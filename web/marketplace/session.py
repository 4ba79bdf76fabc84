"""The onboarding session: the cookie that carries the session token, and who may see which salon."""
from __future__ import annotations

from flask import request

from web.context import ctx
from web.marketplace import tokens

COOKIE = "aiadmin_onboarding"
COOKIE_PATH = "/"  # the redirect (under /auth) reads it too, to recognise a returning browser


def set_cookie(response, token: str, secure: bool) -> None:
    response.set_cookie(COOKIE, token, max_age=tokens.SESSION_TTL, path=COOKIE_PATH, httponly=True,
                        secure=secure, samesite="Lax")


def current(token: str | None = None) -> tokens.Claims:
    """The session claims from the cookie (or an explicit token); raises TokenError."""
    raw = token if token is not None else request.cookies.get(COOKIE)
    return tokens.verify(ctx().settings.jwt_secret, raw, tokens.SESSION)


def ended(claims: tokens.Claims) -> bool:
    """Whether any of the token's salons moved to a newer session generation (uninstall, reinstall,
    take-over): then the token is over, whatever its expiry says."""
    from models import session_generation

    now = session_generation.current(claims.salon_ids)
    return any(now.get(salon_id, 0) > claims.generation(salon_id) for salon_id in claims.salon_ids)


def current_or_none() -> tokens.Claims | None:
    try:
        return current()
    except tokens.TokenError:
        return None


def client_ip() -> str:
    """The client's address for per-IP limits: the peer, or the last X-Forwarded-For hop when the peer is our
    own reverse proxy (loopback or a private network, as nginx in docs/operations.md). A client reaching us
    directly can write any X-Forwarded-For, so it is ignored then (else a flood rotates it past every limit)."""
    peer = request.remote_addr or "unknown"
    forwarded = request.headers.get("X-Forwarded-For", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    return (hops[-1] if hops and _is_proxy(peer) else peer)[:64]


def _is_proxy(address: str) -> bool:
    import ipaddress

    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private
