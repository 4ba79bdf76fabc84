"""Forged, expired and misused onboarding tokens, made by hand so no library can quietly "fix" them."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

from web.marketplace import tokens

SALON = 962302
OTHER = 997441


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(kind=tokens.SESSION, salons=(SALON,), **overrides) -> dict:
    now = int(time.time())
    claims = {"typ": kind, "salons": list(salons), "installer": 42, "jti": uuid.uuid4().hex, "iat": now,
              "exp": now + 3600, "iss": tokens.ISSUER}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def craft(header: dict, claims: dict, key: bytes | None, digest=hashlib.sha256) -> str:
    """A JWT with exactly this header and payload, HMAC-signed with `key` (or unsigned when None)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = _b64(hmac.new(key, signing_input.encode(), digest).digest()) if key is not None else ""
    return f"{signing_input}.{signature}"


# An RSA public key as an attacker would find it (e.g. in a JWKS): the classic RS256 -> HS256 confusion signs
# an HS256 token with the public key's PEM text as the HMAC secret, or claims RS256 while signing with HMAC.
PUBLIC_PEM = b"""-----BEGIN PUBLIC KEY-----
MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMvUZzo1pt1cI9n3dfp2TA6YpYs/wCdn
mZxB3vUEwoWJdhWbm/0vC5s2O2FRM3YqQPx1h4gUQ5fzh6g3YbwXzFsCAwEAAQ==
-----END PUBLIC KEY-----"""


def forged_tokens(secret: str, typ: str = tokens.SESSION) -> dict[str, str]:
    """Every token below must be refused wherever a `typ` token is expected. Keyed by what is wrong with it."""
    key = secret.encode()
    hs256 = {"alg": "HS256", "typ": "JWT"}
    now = int(time.time())
    other_typ = tokens.LINK if typ == tokens.SESSION else tokens.SESSION
    return {
        "alg_none": craft({"alg": "none", "typ": "JWT"}, _claims(typ), None),
        "alg_none_uppercase": craft({"alg": "NONE", "typ": "JWT"}, _claims(typ), None),
        "alg_none_with_signature": craft({"alg": "none"}, _claims(typ), key),
        "hs512_right_key": craft({"alg": "HS512", "typ": "JWT"}, _claims(typ), key, hashlib.sha512),
        "hs384_right_key": craft({"alg": "HS384", "typ": "JWT"}, _claims(typ), key, hashlib.sha384),
        "rs256_header_hmac_signature": craft({"alg": "RS256", "typ": "JWT"}, _claims(typ), key),
        "hs256_signed_with_public_key": craft(hs256, _claims(typ), PUBLIC_PEM),
        "wrong_key": craft(hs256, _claims(typ), b"a-different-secret-0000000000000000"),
        "empty_key": craft(hs256, _claims(typ), b""),
        "expired": craft(hs256, _claims(typ, iat=now - 7200, exp=now - 3600), key),
        "wrong_type": craft(hs256, _claims(other_typ), key),
        "no_type": craft(hs256, _claims(typ, typ=None), key),
        "wrong_issuer": craft(hs256, _claims(typ, iss="someone-else"), key),
        "no_expiry": craft(hs256, _claims(typ, exp=None), key),
        "no_jti": craft(hs256, _claims(typ, jti=None), key),
        "salons_as_string": craft(hs256, _claims(typ, salons=f"{SALON}"), key),
        "salons_negative": craft(hs256, _claims(typ, salons=[-SALON]), key),
        "salons_bool": craft(hs256, _claims(typ, salons=[True]), key),
        "salons_empty": craft(hs256, _claims(typ, salons=[]), key),
        "payload_tampered": _tamper(tokens.issue(secret, typ, [OTHER], 42), {"salons": [SALON]}),
        "signature_stripped": tokens.issue(secret, typ, [SALON], 42).rsplit(".", 1)[0] + ".",
        "kid_injection": craft({"alg": "HS256", "kid": "../../../../dev/null"}, _claims(typ), b""),
        "oversized": craft(hs256, _claims(typ, pad="x" * 5000), key),
        "garbage": "not.a.jwt",
        "two_parts": "a.b",
    }


def _tamper(token: str, changes: dict) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
