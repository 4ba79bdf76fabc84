"""Small formatting helpers shared by the support reports (stable JSON values, readable text)."""
from __future__ import annotations

import datetime
import json
from typing import Any


def iso(value: datetime.datetime | None) -> str | None:
    """Naive UTC datetimes as ISO 8601 with a `Z`, so scripts never guess the time zone."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value.replace(microsecond=0).isoformat() + "Z"


def seconds_between(start: datetime.datetime | None, end: datetime.datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)


def last_line(text: str, limit: int = 120) -> str:
    """The line that says what went wrong: the last one (a traceback ends with the exception)."""
    line = ((text or "").strip().splitlines()[-1:] or [""])[0].strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths))]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)
