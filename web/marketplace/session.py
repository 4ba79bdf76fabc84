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
    """The client's address for per-IP limits (docs/security.md). The peer, unless the peer is one of
    TRUSTED_PROXIES (loopback by default: nginx on the same host): then X-Forwarded-For is read from the right
    and the first hop that is not itself a trusted proxy is the client. A client reaching us directly can write
    any X-Forwarded-For, so it is ignored then (else a flood rotates it past every limit)."""
    return forwarded_client(request.remote_addr or "unknown", request.headers.get("X-Forwarded-For", ""),
                            ctx().settings.trusted_proxies)


def forwarded_client(peer: str, forwarded: str, trusted) -> str:
    if not _trusted(peer, trusted):
        return peer[:64]
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        client = hop
        if not _trusted(hop, trusted):
            break
    return client[:64]


def _trusted(address: str, trusted) -> bool:
    import ipaddress

    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)
