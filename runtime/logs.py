"""Logging for every process: JSON lines in production, readable text in development; secrets redacted."""
from __future__ import annotations

import json
import logging
import re
import sys
import time

from flask import g, has_request_context

from runtime.middleware import current_message_context

# Anything that looks like a JWT, a long hex/base64 secret, a bearer value or a full phone number.
_PATTERNS = [
    (re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), "[jwt]"),
    (re.compile(r"(?i)(bearer|user)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [redacted]"),
    (re.compile(r"(?i)(token|api_key|apikey|secret|password|key)([\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]{4,}"),
     r"\1\2[redacted]"),
    (re.compile(r"\b[0-9a-f]{32,}\b"), "[hex]"),
    (re.compile(r"(?<!\d)(\+?\d{4})\d{3,}(\d{2})(?!\d)"), r"\1***\2"),
]


SECRET_SETTINGS = ("yclients_partner_token", "yclients_user_token", "jwt_secret", "waha_api_key",
                   "waha_webhook_secret", "health_token")
# Our own configured secrets, replaced literally wherever they appear (even with no `token=` before them).
_SECRETS: list[str] = []


def register_secrets(values) -> None:
    """Called by `configure_logging` with the settings' secrets; short values are ignored (false hits)."""
    for value in values:
        if value and len(value) >= 6 and value not in _SECRETS:
            _SECRETS.append(value)
    _SECRETS.sort(key=len, reverse=True)  # longest first, so a secret containing another is fully hidden


def redact(text: str) -> str:
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "[secret]")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def mask_phone(phone: str | None) -> str:
    """`79001234567` -> `7900***67`; what support tools show instead of a full number."""
    digits = "".join(ch for ch in str(phone or "") if ch.isdigit())
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:4]}***{digits[-2:]}"


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not kill logging
            message = str(record.msg)
        record.msg = redact(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class ContextFilter(logging.Filter):
    """Attach message id / actor / salon id of the current Dramatiq message or web request."""

    def __init__(self, process: str):
        super().__init__()
        self.process = process

    def filter(self, record: logging.LogRecord) -> bool:
        context = dict(current_message_context())
        if has_request_context():
            context.setdefault("salon_id", getattr(g, "salon_id", None))
            context.setdefault("request_id", getattr(g, "request_id", None))
        record.process_role = self.process
        for key in ("message_id", "actor", "salon_id", "request_id"):
            setattr(record, key, context.get(key))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": round(record.created, 3),
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "process": getattr(record, "process_role", None),
            "message": record.getMessage(),
        }
        for key in ("salon_id", "message_id", "actor", "request_id"):
            value = getattr(record, key, None)
            if value is not None:
                payload[key] = value
        if record.exc_text:
            payload["exc"] = record.exc_text
        return json.dumps(payload, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extras = " ".join(f"{k}={getattr(record, k)}" for k in ("salon_id", "message_id")
                          if getattr(record, k, None) is not None)
        return f"{base} {extras}".rstrip()


def configure_logging(settings, process: str, stream=None) -> logging.Handler:
    """Install one handler on the root logger (replacing ours from a previous call)."""
    register_secrets([getattr(settings, name, "") for name in SECRET_SETTINGS])
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter(process))
    handler.addFilter(RedactingFilter())
    if settings.log_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._aiadmin = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_aiadmin", False):
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler
