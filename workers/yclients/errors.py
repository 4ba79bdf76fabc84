"""YCLIENTS errors, classified so callers (and Dramatiq's Retries) know what to do with them."""
from __future__ import annotations


class YclientsError(Exception):
    """Base class. `status` is the HTTP status (None for network errors), `message` YCLIENTS' meta.message."""

    retryable = False

    def __init__(self, text: str, *, status: int | None = None, message: str = "", body: str = ""):
        super().__init__(text)
        self.status = status
        self.message = message
        self.body = body


class TransientError(YclientsError):
    """5xx, a network error, a timeout or an HTML/non-JSON answer: retry with backoff."""

    retryable = True


class RateLimited(TransientError):
    """429: retry after `retry_after` seconds."""

    def __init__(self, text: str, *, retry_after: float, **kwargs):
        super().__init__(text, **kwargs)
        self.retry_after = retry_after


class PermanentError(YclientsError):
    """A 4xx other than 429 (401 bad token, 403, 404, 422 validation): retrying cannot help."""


class AccessDenied(PermanentError):
    """401/403: YCLIENTS refuses our credentials for this salon (token, `X-Partner-Id`, the app not installed).
    Retrying cannot help until someone fixes the settings or the install; support re-queues it then."""
