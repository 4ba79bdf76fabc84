"""Input validation for the redirect and the page's requests: salon ids, phones, emails, capped strings."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_BRANCHES = 50
MAX_SALON_ID = 2 ** 53  # what a JavaScript number holds exactly; YCLIENTS ids are far below
_DIGITS = re.compile(r"[0-9]{1,16}")  # ASCII only: str.isdigit/\d also take "٣" and "１"
_INDEXED = re.compile(r"salon_ids\[(\d{1,3})\]")
_EMAIL = re.compile(r"[^@\s<>\"'(),;:\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")


class InvalidInput(ValueError):
    """Bad input; `reason` picks the message shown to the person."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def salon_id(value) -> int:
    """A positive integer id, from a string of digits or an int (bools refused)."""
    if isinstance(value, bool):
        raise InvalidInput("bad_salon_id")
    if isinstance(value, int):
        number = value
    else:
        text = str(value or "").strip()
        if not _DIGITS.fullmatch(text):
            raise InvalidInput("bad_salon_id")
        number = int(text)
    if not 0 < number <= MAX_SALON_ID:
        raise InvalidInput("bad_salon_id")
    return number


def salon_ids_from_query(args) -> list[int]:
    """Every branch id from `salon_id`, `salon_ids[]`, `salon_ids` and `salon_ids[N]`, in order, deduplicated."""
    raw: list[str] = []
    raw += args.getlist("salon_id")
    raw += args.getlist("salon_ids[]")
    raw += args.getlist("salon_ids")
    indexed = sorted(((int(m.group(1)), key) for key in args.keys() if (m := _INDEXED.fullmatch(key))))
    for _, key in indexed:
        raw += args.getlist(key)
    if not raw:
        raise InvalidInput("no_salon_id")
    if len(raw) > MAX_BRANCHES:
        raise InvalidInput("too_many_salons")
    ids: list[int] = []
    for value in raw:
        number = salon_id(value)
        if number not in ids:
            ids.append(number)
    return ids


def text(value, limit: int = 255) -> str:
    """A display string: control characters dropped, whitespace collapsed, capped at `limit`."""
    if value is None or isinstance(value, (dict, list)):
        return ""
    cleaned = "".join(ch for ch in str(value) if unicodedata.category(ch)[0] != "C" or ch == " ")
    return " ".join(cleaned.split())[:limit]


def phone(value) -> str | None:
    """Digits only, Russian `8XXXXXXXXXX` -> `7XXXXXXXXXX`, 10 digits -> `7` prefix; None unless 10–15 digits."""
    if value is None or isinstance(value, (bool, dict, list)):
        return None
    raw = str(value).strip()
    if len(raw) > 32 or not re.fullmatch(r"[0-9\s()+\-.]*", raw):  # ASCII digits: the gateway wants 7900…
        return None
    digits = re.sub(r"[^0-9]", "", raw)
    if len(digits) == 11 and digits.startswith("8"):
        digits = "7" + digits[1:]
    elif len(digits) == 10:
        digits = "7" + digits
    if not 10 <= len(digits) <= 15 or digits.startswith("0"):
        return None
    return digits


def email(value) -> str:
    """A plausible address (lower-cased), or '' when it is not one."""
    candidate = text(value, 254).lower()
    return candidate if _EMAIL.fullmatch(candidate) else ""


@dataclass(frozen=True)
class Installer:
    """The YCLIENTS user who pressed «Подключить», from the signed user_data."""

    user_id: int | None
    name: str
    phone: str
    email: str
    salon_name: str


def installer(user_data: dict) -> Installer:
    raw_id = user_data.get("id")
    user_id = None
    if raw_id not in (None, ""):
        try:
            user_id = salon_id(raw_id)
        except InvalidInput:
            raise InvalidInput("bad_user_data") from None
    return Installer(user_id=user_id, name=text(user_data.get("name")), phone=phone(user_data.get("phone")) or "",
                     email=email(user_data.get("email")), salon_name=text(user_data.get("salon_name")))
