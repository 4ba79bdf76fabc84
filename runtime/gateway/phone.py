"""Phone numbers and pairing codes as WhatsApp wants them: plain international digits, `XXXX-XXXX`."""
from __future__ import annotations

import re

from runtime.gateway.errors import InvalidPhone

DEFAULT_COUNTRY_CODE = "7"
PAIRING_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"  # whatsmeow linkingBase32: no 0, I, O, U
_JID_SUFFIXES = ("@c.us", "@s.whatsapp.net")


def strip_jid(value: str) -> str:
    """`79001234567:13@s.whatsapp.net` -> `79001234567`: drop the server part and the `:device` suffix.

    The device suffix must go BEFORE digits are extracted, or `...567:13` becomes a wrong 13-digit number
    (the original system's welcome went to such a number)."""
    text = str(value or "").strip()
    for suffix in _JID_SUFFIXES:
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    if "@" in text:
        text = text.split("@", 1)[0]
    return text.split(":", 1)[0]


def normalise_phone(value: str, default_country: str = DEFAULT_COUNTRY_CODE) -> str:
    """Digits only, 10-15 of them; `8XXXXXXXXXX` -> `7XXXXXXXXXX`; a bare 10-digit number gets the default
    country code. Raises InvalidPhone otherwise."""
    digits = re.sub(r"\D", "", strip_jid(value))
    if len(digits) == 11 and digits.startswith("8") and default_country == "7":
        digits = "7" + digits[1:]
    elif len(digits) == 10 and not digits.startswith("0"):
        digits = default_country + digits
    if not 10 <= len(digits) <= 15 or digits.startswith("0"):
        raise InvalidPhone("Неверный формат номера (10–15 цифр)")
    return digits


def phone_of_jid(jid: str | None) -> str:
    """The plain digits of a `me.id` / chat id, without validation beyond digits (empty if none)."""
    return re.sub(r"\D", "", strip_jid(jid or ""))


def chat_id(phone: str) -> str:
    """A personal chat id for a phone (`79001234567@c.us`); ids that already carry a server (e.g. `@lid`)
    pass through unchanged, since a LID sent as `@c.us` is refused."""
    if "@" in phone:
        return phone
    return f"{normalise_phone(phone)}@c.us"


def normalise_pairing_code(value: str) -> str:
    """`abcd efgh` / `ABCDEFGH` -> `ABCD-EFGH`; raises ValueError if it is not 8 characters of the alphabet."""
    raw = re.sub(r"[\s-]", "", str(value or "")).upper()
    if len(raw) != 8 or any(ch not in PAIRING_ALPHABET for ch in raw):
        raise ValueError("a pairing code is 8 characters from " + PAIRING_ALPHABET)
    return f"{raw[:4]}-{raw[4:]}"
