"""Signing `user_data` exactly like YCLIENTS (reference §1.4-1.5)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json


def encode_user_data(user: dict) -> tuple[str, str]:
    """(user_data, user_data_sign): URL-safe base64 WITH padding of the UTF-8 JSON, and the lowercase hex
    HMAC-SHA256 of the DECODED JSON bytes (not of the base64 text), keyed by the partner token."""
    raw = json.dumps(user, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii"), raw


def sign(raw_json: bytes, partner_token: str) -> str:
    return hmac.new(partner_token.encode("utf-8"), raw_json, hashlib.sha256).hexdigest()


def signed_user_data(user: dict, partner_token: str) -> tuple[str, str]:
    user_data, raw = encode_user_data(user)
    return user_data, sign(raw, partner_token)


def demo_user(salon_title: str, user_id: int = 1234567) -> dict:
    return {"id": user_id, "name": "Иванов Иван", "phone": "79001234567", "email": "owner@example.com",
            "is_approved": True, "avatar": "https://assets.yclients.com/general/0/avatar.png",
            "salon_name": salon_title}
