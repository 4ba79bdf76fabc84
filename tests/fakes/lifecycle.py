"""A small WAHA client fake with the real client's method names and credential semantics:
stop keeps a linked session's credentials (ensure_session reconnects it), delete drops them."""
from __future__ import annotations

import datetime

from runtime.gateway.errors import SessionNotFound
from runtime.gateway.naming import session_name
from models.db import utcnow
from models.webhook_delivery import WebhookDelivery
from web import webhook_auth


class FakeWaha:
    def __init__(self):
        self.calls: list[tuple[str, str]] = []
        self.sessions: dict[str, dict] = {}
        self.errors: list[Exception] = []

    def _maybe_fail(self):
        if self.errors:
            raise self.errors.pop(0)

    def link(self, salon_id: int) -> None:
        """The phone scanned the QR: the session is WORKING with stored credentials."""
        self.sessions[session_name(salon_id)] = {"status": "WORKING", "creds": True}

    def ensure_session(self, salon_id: int) -> str:
        name = session_name(salon_id)
        self.calls.append(("ensure", name))
        session = self.sessions.setdefault(name, {"status": "STARTING", "creds": False})
        session["status"] = "WORKING" if session["creds"] else "SCAN_QR_CODE"
        return session["status"]

    def stop_session(self, name: str) -> None:
        self.calls.append(("stop", name))
        self._maybe_fail()
        if name not in self.sessions:
            raise SessionNotFound(f"no session {name}", status=404)
        self.sessions[name]["status"] = "STOPPED"

    def delete_session(self, name: str) -> None:
        self.calls.append(("delete", name))
        self._maybe_fail()
        self.sessions.pop(name, None)

    def count(self, verb: str) -> int:
        return sum(1 for v, _ in self.calls if v == verb)


def store(body: dict, *, kind: str | None = None, received_at: datetime.datetime | None = None,
          auth: str = "partner_token") -> WebhookDelivery:
    """What the intake stores for `body` (see web/webhooks.py)."""
    kind = kind or ("data" if "resource" in body else "lifecycle")
    return WebhookDelivery.create(
        salon_id=body.get("salon_id") if kind == "lifecycle" else body.get("company_id"),
        kind=kind, event=body.get("event", "") if kind == "lifecycle" else "",
        resource=body.get("resource", "") if kind == "data" else "",
        status=body.get("status", "") if kind == "data" else "",
        resource_id=body.get("resource_id"), auth=auth, body_hash=webhook_auth.body_hash(body),
        body=webhook_auth.without_token(body), received_at=received_at or utcnow())
