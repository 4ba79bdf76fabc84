"""Onboarding tokens (PyJWT, HS256): a one-time link token and the session token kept in a cookie.

The link token travels in `/marketplace/onboarding?token=…` and is exchanged ONCE (its `jti` is
claimed in Redis) for a session token in an HttpOnly cookie, so a token in history, logs or a
`Referer` is worthless. Each token names its kind in `typ`, so one can never stand in for the other.
Both carry each salon's session generation (`gens`): a token older than the salon's current generation
(uninstall, reinstall, take-over) has ended (web/marketplace/session.py).
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"
LINK = "onboarding_link"
SESSION = "onboarding_session"
LINK_TTL = 3600  # one hour, as the marketplace flow always had
SESSION_TTL = 12 * 3600  # long enough to finish onboarding, short enough to matter if leaked
ISSUER = "aiadmin-connector"
_USED_PREFIX = "aiadmin:jti:"


class TokenError(Exception):
    """A token that must be refused; `reason` is one of: missing, invalid, expired, wrong_type, used."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Claims:
    typ: str
    salon_ids: tuple[int, ...]
    installer_id: int | None
    jti: str
    issued_at: int
    expires_at: int
    generations: tuple[int, ...] = ()  # per salon, in the order of salon_ids; 0 for tokens without `gens`

    def generation(self, salon_id: int) -> int:
        index = self.salon_ids.index(int(salon_id))
        return self.generations[index] if index < len(self.generations) else 0

    def allows(self, salon_id: int) -> bool:
        return int(salon_id) in self.salon_ids


def issue(secret: str, typ: str, salon_ids, installer_id: int | None, *, now: float | None = None,
          ttl: int | None = None, generations=None) -> str:
    issued = int(time.time() if now is None else now)
    ttl = ttl if ttl is not None else (LINK_TTL if typ == LINK else SESSION_TTL)
    salons = [int(s) for s in salon_ids]
    gens = [int(g) for g in generations] if generations is not None else [0] * len(salons)
    payload = {"typ": typ, "salons": salons, "installer": installer_id, "gens": gens,
               "jti": uuid.uuid4().hex, "iat": issued, "exp": issued + ttl, "iss": ISSUER}
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def verify(secret: str, token: str | None, typ: str) -> Claims:
    if not token:
        raise TokenError("missing")
    if len(token) > 4096:
        raise TokenError("invalid")
    try:
        payload = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
                             options={"require": ["exp", "iat", "jti", "typ", "salons"]})
    except jwt.ExpiredSignatureError:
        raise TokenError("expired") from None
    except jwt.InvalidTokenError:
        raise TokenError("invalid") from None
    if payload.get("typ") != typ:
        raise TokenError("wrong_type")
    salons = payload.get("salons")
    if not isinstance(salons, list) or not salons or not all(
            isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in salons):
        raise TokenError("invalid")
    gens = payload.get("gens", [])
    if not isinstance(gens, list) or len(gens) not in (0, len(salons)) or not all(
            isinstance(g, int) and not isinstance(g, bool) and g >= 0 for g in gens):
        raise TokenError("invalid")
    installer = payload.get("installer")
    return Claims(typ=typ, salon_ids=tuple(salons), installer_id=installer if isinstance(installer, int) else None,
                  jti=str(payload["jti"]), issued_at=int(payload["iat"]), expires_at=int(payload["exp"]),
                  generations=tuple(gens))


def claim_once(redis_client, claims: Claims, *, now: float | None = None) -> bool:
    """Mark the token's `jti` used; False when it was used before (kept until the token expires anyway)."""
    remaining = max(1, claims.expires_at - int(time.time() if now is None else now) + 60)
    return bool(redis_client.set(_USED_PREFIX + claims.jti, "1", nx=True, ex=remaining))
