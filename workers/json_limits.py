"""Bounded JSON parsing for every JSON entry point (web, websocket, bridge): size and nesting depth.

`json.loads` recurses once per `[` or `{`: 1,000 of them (2 KB) end in a RecursionError, which is not a
ValueError, so every caller that caught only ValueError answered 500 with a traceback. Here the depth is
counted before parsing (brackets outside string literals, a regex pass over the text, no recursion), and
every refusal is one exception type with the HTTP status it deserves (400 malformed or too deep, 413 large).
"""
from __future__ import annotations

import json
import re

MAX_DEPTH = 32  # the deepest real body (a YCLIENTS record with its services and staff) nests 5 levels
MAX_BYTES = 256 * 1024

# A JSON string literal (with escapes), or one bracket. Strings are skipped so `"[[["` counts nothing. An
# unterminated string runs to the end (a lone trailing backslash included), so no match ever fails after
# scanning ahead: the pass stays linear even on `"\"\"\"…` (a failing match per quote would be quadratic).
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)|[\[\]{}]', re.S)


class BadJson(ValueError):
    """The body is refused; `status` is 400 (malformed, too deep) or 413 (too large)."""

    def __init__(self, error: str, message: str, status: int = 400):
        super().__init__(message)
        self.error = error
        self.message = message
        self.status = status


def depth_of(text: str, stop_above: int | None = None) -> int:
    """The deepest bracket nesting outside string literals; stops early once it passes `stop_above`."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and deepest > stop_above:
                    break
        elif token in "]}":
            depth -= 1
    return deepest


def loads(raw: bytes | str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH):
    """Parse `raw` as JSON within the bounds, or raise BadJson. Never raises anything else."""
    if len(raw) > max_bytes:
        raise BadJson("payload_too_large", f"body exceeds {max_bytes} bytes", 413)
    if isinstance(raw, (bytes, bytearray)):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise BadJson("malformed_json", "the body is not UTF-8") from None
    else:
        text = raw
    if depth_of(text, stop_above=max_depth) > max_depth:
        raise BadJson("too_deep", f"the body nests deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError cannot happen within MAX_DEPTH; belt and braces
        raise BadJson("malformed_json", "the body is not valid JSON") from None


def loads_object(raw: bytes | str, **bounds) -> dict:
    """Like `loads`, and the value must be a JSON object."""
    value = loads(raw, **bounds)
    if not isinstance(value, dict):
        raise BadJson("malformed_json", "the body must be a JSON object")
    return value
