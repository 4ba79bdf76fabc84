"""The WAHA HTTP client: `X-Api-Key`, a timeout on every call, errors sorted into retryable and permanent."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import requests
from urllib3.exceptions import NewConnectionError

from runtime.gateway.errors import (AccountBanned, AmbiguousSend, GatewayError, InvalidPhone, PermanentGatewayError,
                           RecipientRestricted, RetryableGatewayError, SessionNotFound, SessionNotReady)
from runtime.gateway.naming import session_name
from runtime.gateway.phone import phone_of_jid

WEBHOOK_EVENTS = ["session.status", "message"]
# WAHA retries an undelivered webhook; constant 2 s x 15 covers a bridge restart.
WEBHOOK_RETRIES = {"policy": "constant", "delaySeconds": 2, "attempts": 15}

_RESTRICTED = re.compile(r"\b463\b|reach-?out timelock", re.I)
_BANNED = re.compile(r"\bbann?ed\b|\btemp(orary|-)?\s?ban\b", re.I)
_BAD_PHONE = re.compile(r"phone|number|jid", re.I)


@dataclass(frozen=True)
class SessionInfo:
    name: str
    status: str  # STOPPED | STARTING | SCAN_QR_CODE | WORKING | FAILED (+ PASSKEY_* on GOWS)
    me_phone: str = ""  # plain digits of me.id, empty when not authenticated
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SessionInfo":
        me = data.get("me") or {}
        config = data.get("config") or {}
        return cls(name=str(data.get("name", "")), status=str(data.get("status", "")),
                   me_phone=phone_of_jid(me.get("id")) if isinstance(me, dict) else "",
                   metadata=dict(config.get("metadata") or {}))


class WahaClient:
    def __init__(self, base_url: str, api_key: str, *, webhook_url: str = "", webhook_secret: str = "",
                 timeout: float = 10.0, http: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.timeout = timeout
        self.http = http or requests.Session()
        self.http.headers.update({"X-Api-Key": api_key, "Accept": "application/json"})

    # -- plumbing -------------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, json: Any = None, params: dict | None = None,
              sending: bool = False, ok_statuses=(200, 201)) -> Any:
        url = f"{self.base_url}{path}"
        try:
            response = self.http.request(method, url, json=json, params=params, timeout=self.timeout,
                                         allow_redirects=False)
        except requests.ConnectTimeout as exc:
            raise RetryableGatewayError(f"gateway unreachable: {type(exc).__name__}") from None
        except requests.ConnectionError as exc:
            if sending and not _refused(exc):
                # The connection broke after the request was written: it may have been sent.
                raise AmbiguousSend(f"connection lost after {method} {path}") from None
            raise RetryableGatewayError(f"gateway unreachable: {type(exc).__name__}") from None
        except requests.Timeout:
            if sending:
                raise AmbiguousSend(f"no answer to {method} {path} within {self.timeout}s") from None
            raise RetryableGatewayError(f"timeout on {method} {path}") from None
        if response.status_code in ok_statuses:
            if not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                return response.text
        raise _error_of(response, method, path)

    # -- sessions -------------------------------------------------------------------------------
    def session_config(self, salon_id: int) -> dict[str, Any]:
        webhook: dict[str, Any] = {"url": f"{self.webhook_url.rstrip('/')}/waha/webhook", "events": WEBHOOK_EVENTS,
                                   "retries": dict(WEBHOOK_RETRIES)}
        if self.webhook_secret:
            webhook["hmac"] = {"key": self.webhook_secret}
        return {"metadata": {"salon.id": str(int(salon_id))}, "webhooks": [webhook]}

    def ensure_session(self, salon_id: int) -> SessionInfo:
        """Idempotent: create (with start: true) if missing, start it if stopped/failed, else leave it be."""
        name = session_name(salon_id)
        try:
            info = self.get_session(name)
        except SessionNotFound:
            body = {"name": name, "start": True, "config": self.session_config(salon_id)}
            try:
                return SessionInfo.from_json(self._call("POST", "/api/sessions", json=body) or {"name": name})
            except PermanentGatewayError as exc:
                if exc.status != 422:  # 422 "already exists": a concurrent create won; start it below
                    raise
            info = self.get_session(name)
        if info.status in ("STOPPED", "FAILED"):
            return self.start_session(name)
        return info

    def get_session(self, name: str) -> SessionInfo:
        return SessionInfo.from_json(self._call("GET", f"/api/sessions/{name}"))

    def list_sessions(self) -> list[SessionInfo]:
        return [SessionInfo.from_json(s) for s in self._call("GET", "/api/sessions", params={"all": "true"}) or []]

    def start_session(self, name: str) -> SessionInfo:
        return SessionInfo.from_json(self._call("POST", f"/api/sessions/{name}/start") or {"name": name})

    def restart_session(self, name: str) -> SessionInfo:
        return SessionInfo.from_json(self._call("POST", f"/api/sessions/{name}/restart") or {"name": name})

    def stop_session(self, name: str) -> None:
        self._call("POST", f"/api/sessions/{name}/stop")

    def logout(self, name: str) -> None:
        self._call("POST", f"/api/sessions/{name}/logout")

    def delete_session(self, name: str) -> None:
        """Idempotent: a session that is already gone is fine."""
        try:
            self._call("DELETE", f"/api/sessions/{name}")
        except SessionNotFound:
            pass

    # -- linking --------------------------------------------------------------------------------
    def get_qr_raw(self, name: str) -> str:
        data = self._call("GET", f"/api/{name}/auth/qr", params={"format": "raw"})
        value = (data or {}).get("value") if isinstance(data, dict) else None
        if not value:
            raise SessionNotReady("no QR code available")
        return str(value)

    def request_code(self, name: str, phone: str) -> str:
        data = self._call("POST", f"/api/{name}/auth/request-code", json={"phoneNumber": phone})
        code = (data or {}).get("code") if isinstance(data, dict) else None
        if not code:
            raise RetryableGatewayError("the gateway returned no pairing code")
        return str(code)

    # -- messages -------------------------------------------------------------------------------
    def send_text(self, name: str, chat_id: str, text: str) -> str:
        """Send once. A timeout after the request went out raises AmbiguousSend (never retry it blindly)."""
        data = self._call("POST", "/api/sendText", json={"session": name, "chatId": chat_id, "text": text,
                                                         "linkPreview": False}, sending=True)
        if isinstance(data, dict):
            ident = data.get("id")
            if isinstance(ident, dict):  # some engines answer {"id": {"_serialized": ...}}
                ident = ident.get("_serialized") or ident.get("id")
            return str(ident or "")
        return ""

    def send_seen(self, name: str, chat_id: str) -> None:
        self._call("POST", "/api/sendSeen", json={"session": name, "chatId": chat_id})

    def start_typing(self, name: str, chat_id: str) -> None:
        self._call("POST", "/api/startTyping", json={"session": name, "chatId": chat_id})

    def stop_typing(self, name: str, chat_id: str) -> None:
        self._call("POST", "/api/stopTyping", json={"session": name, "chatId": chat_id})


def _refused(exc: requests.ConnectionError) -> bool:
    """True when the TCP connection was never established (so nothing was sent)."""
    seen, stack = set(), [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (NewConnectionError, ConnectionRefusedError)):
            return True
        stack.extend([getattr(current, "reason", None), current.__cause__, current.__context__,
                      *[a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]])
    return False


def _message_of(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(data, dict):
        message = data.get("message") or data.get("error") or ""
        if isinstance(message, list):
            message = "; ".join(map(str, message))
        exception = data.get("exception")
        if isinstance(exception, dict) and exception.get("message"):
            message = f"{message} {exception['message']}".strip()
        return str(message)[:300]
    return str(data)[:300]


def _error_of(response: requests.Response, method: str, path: str) -> GatewayError:
    status = response.status_code
    message = _message_of(response)
    text = f"{method} {path} -> {status}: {message}"
    if _RESTRICTED.search(message):
        return RecipientRestricted(text, status=status)
    if _BANNED.search(message):
        return AccountBanned(text, status=status)
    if status == 404:
        return SessionNotFound(text, status=status)
    if status == 422 and re.search(r"status", message, re.I):
        return SessionNotReady(text, status=status)  # "Session status is not as expected"
    if status == 429 or status >= 500:
        return RetryableGatewayError(text, status=status)
    if status == 400 and _BAD_PHONE.search(message):
        return InvalidPhone(text, status=status)
    return PermanentGatewayError(text, status=status)


def client_from_settings(settings) -> WahaClient:
    return WahaClient(settings.waha_url, settings.waha_api_key, webhook_url=settings.bridge_public_url,
                      webhook_secret=settings.waha_webhook_secret, timeout=settings.http_timeout)
