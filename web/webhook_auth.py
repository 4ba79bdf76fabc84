"""Who may send a YCLIENTS webhook: the partner token (constant time) or a per-salon key in the URL."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from models.salon import Salon

PARTNER_TOKEN = "partner_token"
WEBHOOK_KEY = "webhook_key"


@dataclass(frozen=True)
class Verdict:
    """The answer to "may we accept this?": `method` on success, else an HTTP status and a code."""

    method: str = ""
    status: int = 200
    error: str = ""
    message: str = ""

    @property
    def accepted(self) -> bool:
        return bool(self.method)


def refuse(status: int, error: str, message: str) -> Verdict:
    return Verdict(status=status, error=error, message=message)


def token_matches(candidate: Any, expected: str) -> bool:
    """Constant-time comparison; anything that is not a non-empty string never matches."""
    if not isinstance(candidate, str) or not candidate or not expected:
        return False
    # surrogatepass: a JSON-escaped lone surrogate in a forged token must be a refusal, not a 500
    return hmac.compare_digest(candidate.encode("utf-8", "surrogatepass"), expected.encode())


def salon_of_key(key: str | None) -> int | None:
    """The salon whose data-webhook URL carries `key`, or None. Keys are long random secrets, so an
    indexed equality lookup leaks nothing useful; a malformed key never reaches the database."""
    if not key or len(key) > 64 or not key.replace("-", "").replace("_", "").isalnum():
        return None
    row = Salon.select(Salon.salon_id).where(Salon.webhook_key == key).first()
    return row.salon_id if row else None


class KeyCache:
    """Webhook key -> salon, remembered in-process for `ttl` seconds (found keys only).

    A salon's data webhooks arrive in bursts, and each lookup was a SELECT on the request path. A key
    that is rotated or removed in the database therefore keeps working in a web process for at most
    `ttl` seconds (docs/webhooks.md); an unknown key is never remembered, so a new key works at once and
    random keys cannot fill the memory. Bounded: the oldest half is dropped when `size` is reached."""

    def __init__(self, ttl: float = 5.0, size: int = 10_000, clock=time.monotonic, lookup=salon_of_key):
        self.ttl, self.size, self.clock, self.lookup = ttl, size, clock, lookup
        self._known: dict[str, tuple[int, float]] = {}

    def salon_of(self, key: str | None) -> int | None:
        now = self.clock()
        hit = self._known.get(key) if key else None
        if hit is not None and hit[1] > now:
            return hit[0]
        salon_id = self.lookup(key)
        if salon_id is None:
            self._known.pop(key, None)
            return None
        if len(self._known) >= self.size:
            for old in list(self._known)[:self.size // 2]:
                self._known.pop(old, None)
        self._known[key] = (salon_id, now + self.ttl)
        return salon_id


def verify(body: dict, kind: str, salon_id: int | None, partner_token: str, key: str | None,
           salon_of=salon_of_key) -> Verdict:
    """Lifecycle webhooks need the partner token. Data webhooks need the partner token, or a valid
    key whose salon is the body's `company_id` (I-31: data webhooks carry no token)."""
    token = body.get("partner_token")
    if token is not None and not token_matches(token, partner_token):
        return refuse(403, "invalid_partner_token", "partner_token is not valid")
    if token is not None:
        return Verdict(method=PARTNER_TOKEN)
    if kind == "lifecycle":
        return refuse(401, "missing_partner_token", "partner_token is required")
    if not key:
        return refuse(401, "unauthenticated", "data webhooks need the per-salon URL or a partner_token")
    owner = salon_of(key)
    if owner is None:
        return refuse(403, "invalid_webhook_key", "unknown webhook key")
    if owner != salon_id:
        return refuse(403, "wrong_salon", "this webhook URL belongs to another salon")
    return Verdict(method=WEBHOOK_KEY)


def without_token(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "partner_token"}


def canonical(body: dict) -> str:
    """The body's one encoding: JSON with sorted keys, compact, partner token removed. It is what is stored,
    and what `body_hash` hashes. Raises UnicodeEncodeError/ValueError for text no database can store
    (a lone surrogate from a JSON escape)."""
    text = json.dumps(without_token(body), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    text.encode("utf-8")  # the same check the drivers would fail on, before anything is written
    return text


def hash_of(canonical_json: str) -> str:
    return hashlib.sha256(canonical_json.encode()).hexdigest()


def body_hash(body: dict) -> str:
    """sha256 of the canonical JSON (sorted keys), partner token removed: equal bodies, equal hashes."""
    return hash_of(canonical(body))
