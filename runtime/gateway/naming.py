"""WAHA session names: one session per salon, named `salon_<salon_id>` (contract 4.6)."""
from __future__ import annotations

import re

PREFIX = "salon_"
_NAME = re.compile(r"^salon_(\d{1,18})$")


def session_name(salon_id: int | str) -> str:
    return f"{PREFIX}{int(salon_id)}"


def salon_id_of(name: str | None) -> int | None:
    """The salon id of a session name we created, or None for any other name."""
    match = _NAME.match(name or "")
    return int(match.group(1)) if match else None
