"""The YCLIENTS HTTP client: auth headers, timeouts, the {success,data,meta} envelope, error classes.

Every request first takes budget from the shared limiter (ratelimit.py), including its own retries, at the
client's priority (interactive or background). A background client may raise ratelimit.BudgetWait before
sending anything: the sync that called it checkpoints and re-enqueues itself with that delay.
Transient failures are retried in-process a few times (429 honours Retry-After, 5xx/network back
off with jitter) before the error propagates to the actor, whose Retries middleware takes over.
"""
from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from models import json_text
from runtime import metrics
from runtime.logs import redact
from runtime.redis_client import redis_client as make_redis
from runtime.yclients.errors import AccessDenied, PermanentError, RateLimited, TransientError, YclientsError
from runtime.yclients.ratelimit import INTERACTIVE, SlidingWindowLimiter
from runtime.yclients.transport import NETWORK_ERRORS, Transport

logger = logging.getLogger("aiadmin.yclients")

ACCEPT = "application/vnd.yclients.v2+json"
USER_AGENT = "AI-Admin-Connector/1.0"
MAX_RETRY_AFTER = 60.0
BODY_LOG_LIMIT = 300


@dataclass
class Reply:
    """A parsed answer: status, the envelope parts, and headers (for Location)."""

    status: int
    data: Any = None
    meta: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


def _retry_after(value: str | None, default: float = 1.0) -> float:
    try:
        return max(0.0, min(float(value), MAX_RETRY_AFTER))
    except (TypeError, ValueError):
        return default


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return redact(text[:BODY_LOG_LIMIT])


def _json(response):
    """The body as JSON (None when it is not): orjson straight from the bytes when the headers say UTF-8
    (`application/json` without a charset is UTF-8, RFC 8259); decoded by the headers' charset otherwise."""
    charset = (response.encoding or "").lower().replace("_", "-")
    try:
        if charset in ("utf-8", "utf8"):
            return json_text.loads(response.content)
        return response.json()
    except ValueError:
        return None


class YclientsClient:
    def __init__(self, base_url: str, partner_token: str, *, user_token: str = "", partner_id: str = "",
                 timeout: float = 10.0,
                 limiter=None, attempts: int = 3, transport=None,
                 sleep: Callable[[float], None] = time.sleep, backoff: float = 0.5):
        self.base_url = base_url.rstrip("/")
        self.partner_token = partner_token
        self.user_token = user_token
        self.partner_id = str(partner_id or "")
        self.timeout = timeout
        self.limiter = limiter
        self.attempts = max(1, attempts)
        # Anything with Transport.request's shape (the client tests hand in canned answers).
        self.transport = transport or Transport(self.base_url)
        self.sleep = sleep
        self.backoff = backoff
        self.requests_made = 0

    def headers(self, user_auth: bool = True) -> dict[str, str]:
        # Marketplace partner calls carry the partner bearer only (reference §3.3). Data calls (/api/v1) add the
        # optional User token and X-Partner-Id: without it YCLIENTS answered 403 «Нет прав на управление
        # компанией» / «Не указан идентификатор партнера» (reference §5.2, I-20).
        auth = f"Bearer {self.partner_token}"
        if user_auth and self.user_token:
            auth += f", User {self.user_token}"
        headers = {"Authorization": auth, "Accept": ACCEPT, "Content-Type": "application/json",
                   "User-Agent": USER_AGENT}
        if user_auth and self.partner_id:
            headers["X-Partner-Id"] = self.partner_id
        return headers

    def request(self, method: str, path: str, *, params=None, json=None, allow_redirects: bool = True,
                accept_status: tuple[int, ...] = (), user_auth: bool = True, budget_caller: str | None = None) -> Reply:
        """One logical call with bounded in-process retries of transient errors. `budget_caller` names the
        caller in the limiter's line of waiting interactive callers (kept when it comes back in a new message)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._once(method, path, params=params, json=json, allow_redirects=allow_redirects,
                                  accept_status=accept_status, user_auth=user_auth, budget_caller=budget_caller)
            except RateLimited as exc:
                if attempt >= self.attempts:
                    raise
                logger.info("YCLIENTS 429 on %s %s; waiting %.1fs", method, path, exc.retry_after)
                self.sleep(exc.retry_after)
            except TransientError as exc:
                if attempt >= self.attempts:
                    raise
                pause = self.backoff * (2 ** (attempt - 1)) * random.uniform(1, 2)
                logger.info("YCLIENTS transient error on %s %s (%s); retry in %.1fs", method, path, exc, pause)
                self.sleep(pause)

    def _once(self, method, path, *, params, json, allow_redirects, accept_status, user_auth,
              budget_caller=None) -> Reply:
        if self.limiter is not None:
            if budget_caller:
                self.limiter.acquire(budget_caller)
            else:
                self.limiter.acquire()
        url = self.base_url + path
        self.requests_made += 1
        try:
            response = self.transport.request(method, url, params=params, json=json, headers=self.headers(user_auth),
                                              timeout=self.timeout, allow_redirects=allow_redirects)
        except NETWORK_ERRORS as exc:
            metrics.yclients_request("error")
            raise TransientError(f"YCLIENTS {method} {path}: network error {type(exc).__name__}") from exc
        return self._parse(method, path, response, accept_status)

    def _parse(self, method, path, response, accept_status) -> Reply:
        status = response.status_code
        metrics.yclients_request(status)
        headers = {"Location": response.headers.get("Location", ""),
                   "Retry-After": response.headers.get("Retry-After", "")}
        if status in accept_status or 300 <= status < 400:
            # Redirects are answers in their own right (the activation's 301), never followed into HTML.
            return Reply(status, None, {}, headers)
        payload = _json(response)
        if not isinstance(payload, dict):
            body = response.text or ""
            logger.warning("YCLIENTS %s %s answered %s with a non-JSON body: %s", method, path, status,
                           _snippet(body))
            if status == 429:
                raise RateLimited(f"YCLIENTS {method} {path}: 429", status=status,
                                  retry_after=_retry_after(headers["Retry-After"]), body=_snippet(body))
            if status in (401, 403):
                raise AccessDenied(f"YCLIENTS {method} {path}: {status} with a non-JSON body", status=status,
                                   body=_snippet(body))
            if 400 <= status < 500:
                raise PermanentError(f"YCLIENTS {method} {path}: {status} with a non-JSON body",
                                     status=status, body=_snippet(body))
            raise TransientError(f"YCLIENTS {method} {path}: {status} with a non-JSON body (HTML?)",
                                 status=status, body=_snippet(body))
        meta = payload.get("meta") if isinstance(payload.get("meta"), dict) else {}
        message = str(meta.get("message", "")) if meta else ""
        if status == 429:
            raise RateLimited(f"YCLIENTS {method} {path}: 429 {message}", status=status, message=message,
                              retry_after=_retry_after(headers["Retry-After"]))
        if status >= 500:
            raise TransientError(f"YCLIENTS {method} {path}: {status} {message}", status=status, message=message)
        if status in (401, 403):
            raise AccessDenied(f"YCLIENTS {method} {path}: {status} {message}", status=status, message=message)
        if status >= 400:
            raise PermanentError(f"YCLIENTS {method} {path}: {status} {message}", status=status, message=message)
        if payload.get("success") is False:
            raise PermanentError(f"YCLIENTS {method} {path}: success=false {message}", status=status,
                                 message=message)
        return Reply(status, payload.get("data"), meta or {}, headers)


def client_from_settings(settings, redis_client=None, *, priority: str = INTERACTIVE,
                         max_hold: float | None = None) -> YclientsClient:
    """A client over the shared limiter on the worker's Redis, timeouts from settings. `priority` and
    `max_hold` are the limiter's (ratelimit.py): background clients of syncs get BudgetWait past `max_hold`."""
    limiter = SlidingWindowLimiter(redis_client or make_redis(settings), settings.yclients_rate_limit,
                                   priority=priority, max_hold=max_hold)
    return YclientsClient(settings.yclients_api_url, settings.yclients_partner_token,
                          user_token=settings.yclients_user_token, partner_id=settings.yclients_partner_id,
                          timeout=settings.http_timeout,
                          limiter=limiter)


__all__ = ["YclientsClient", "Reply", "client_from_settings", "YclientsError", "TransientError",
           "RateLimited", "PermanentError", "AccessDenied"]
