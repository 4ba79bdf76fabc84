"""The signed `user_data` YCLIENTS sends with the registration redirect: decode and verify it.

`user_data` is base64 of UTF-8 JSON, usually in the URL-safe alphabet with `=` padding; a plain
`b64decode` silently drops `-`/`_` and corrupts it (reference §1.4). The signature is the lowercase
hex HMAC-SHA256 of the DECODED JSON bytes keyed by the partner token (§1.5, incident I-1).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re

MAX_USER_DATA_CHARS = 8192
_SIGN = re.compile(r"[0-9a-f]{64}")


class UserDataError(ValueError):
    """`user_data` cannot be decoded or is not a JSON object."""


def decode(user_data: str) -> bytes:
    """The raw JSON bytes of `user_data`, whichever base64 alphabet and padding it arrived in."""
    text = (user_data or "").strip()
    if not text or len(text) > MAX_USER_DATA_CHARS:
        raise UserDataError("user_data is empty or too long")
    # A proxy that form-decodes the query turns '+' into ' '.
    text = text.replace(" ", "+").replace("-", "+").replace("_", "/").rstrip("=")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise UserDataError("user_data is not base64") from None


def sign(raw_json: bytes, partner_token: str) -> str:
    return hmac.new(partner_token.encode(), raw_json, hashlib.sha256).hexdigest()


def signature_valid(raw_json: bytes, signature: str, partner_token: str) -> bool:
    provided = (signature or "").strip().lower()
    if not _SIGN.fullmatch(provided):
        return False
    return hmac.compare_digest(sign(raw_json, partner_token), provided)


def parse(raw_json: bytes) -> dict:
    from workers import json_limits

    try:
        return json_limits.loads_object(raw_json, max_bytes=MAX_USER_DATA_CHARS)
    except json_limits.BadJson:
        raise UserDataError("user_data is not a UTF-8 JSON object of bounded depth") from None


def encode(payload: dict, *, urlsafe: bool = True) -> str:
    """What YCLIENTS sends (for the sandbox and tests): base64 of the UTF-8 JSON, padded."""
    raw = json.dumps(payload, ensure_ascii=False).encode()
    return (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw).decode()
