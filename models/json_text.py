"""Fast JSON text for hot paths (the sync's page upserts, the YCLIENTS client's replies), via orjson.

`dumps` stores the same JSON as `JSONField.db_value` (compact, non-ASCII kept, anything else through
`str`), only ~10x faster; `loads` parses what `json.loads` parses. Where orjson cannot do exactly
what `json` does, both fall back to `json`: integers beyond 64 bits, non-string keys, NaN/Infinity in
the input. Datetimes and dataclasses go through `str` as with `json.dumps(default=str)` (orjson's own
ISO format would differ). orjson spells floats below 1e-4 differently (`1e-7`, `0.000015` for `1e-07`,
`1.5e-05`): text that may hold one is made by `json` too, so the stored text stays byte for byte the same.
Only NaN and ±Infinity (not JSON; orjson writes `null`, json `NaN`) would differ: `loads` gives them
only for a body that is not standard JSON.
"""
from __future__ import annotations

import json
import re

import orjson

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
# Where orjson's float spelling may differ from Python's (a small float); in a string it only costs the slow path.
_SMALL_FLOAT = re.compile(rb"\de-|0\.0000")


def dumps(value) -> str | None:
    """`value` as compact JSON text (None stays None), equal to what JSONField stores."""
    if value is None:
        return None
    try:
        text = orjson.dumps(value, default=str, option=_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):
        text = None
    if text is None or ((b"e-" in text or b"0.0000" in text) and _SMALL_FLOAT.search(text)):  # `in` is cheap
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text.decode()


def loads(body: bytes | str):
    """Parse a JSON document; ValueError when it is not one (as `json.loads`)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
        return json.loads(text)  # NaN, Infinity, huge integers: json's reading (raises ValueError itself)
