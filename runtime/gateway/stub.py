"""An in-memory WhatsApp gateway with WAHA's session semantics, for unit tests (like `dramatiq.brokers.stub`).

What it keeps from WAHA (docs/bridge.md; the contract suite in tests/contract/ runs it against the
simulator): sessions are `salon_<id>`; a new or restarted session without credentials waits for a link
(SCAN_QR_CODE); stop keeps a linked session's credentials, so starting it reconnects (WORKING) without a
new link; logout drops them (a running session goes back to SCAN_QR_CODE); delete drops the session;
an unknown session is SessionNotFound (delete is idempotent); QR, pairing code and sends need the right
state (SessionNotReady otherwise). `link(salon_id, phone)` plays the phone scanning the code; `errors`
are raised, in order, by the next calls (a gateway that is down); every call is logged in `calls`.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from runtime.gateway.errors import SessionNotFound, SessionNotReady
from runtime.gateway.naming import session_name
from runtime.gateway.waha import SessionInfo

RUNNING = ("STARTING", "SCAN_QR_CODE", "WORKING")


@dataclass
class _Session:
    salon_id: int
    status: str = "STOPPED"
    phone: str = ""  # stored credentials: the linked account


class StubGateway:
    def __init__(self):
        self.calls: list[tuple[str, str]] = []
        self.errors: list[Exception] = []
        self.sent: list[dict[str, Any]] = []
        self._sessions: dict[str, _Session] = {}
        self._ids = itertools.count(1)

    # -- test controls -------------------------------------------------------------------------------
    def link(self, salon_id: int, phone: str = "79001234567") -> None:
        """The phone scanned the QR: the session is WORKING with stored credentials."""
        name = session_name(salon_id)
        session = self._sessions.setdefault(name, _Session(int(salon_id)))
        session.status, session.phone = "WORKING", phone

    @property
    def sessions(self) -> dict[str, dict[str, Any]]:
        """{name: {"status", "creds"}}: what the gateway holds now."""
        return {name: {"status": s.status, "creds": bool(s.phone)} for name, s in self._sessions.items()}

    def count(self, verb: str) -> int:
        return sum(1 for called, _ in self.calls if called == verb)

    # -- plumbing ------------------------------------------------------------------------------------
    def _call(self, verb: str, name: str) -> None:
        self.calls.append((verb, name))
        if self.errors:
            raise self.errors.pop(0)

    def _get(self, name: str) -> _Session:
        if name not in self._sessions:
            raise SessionNotFound(f"Session '{name}' does not exist", status=404)
        return self._sessions[name]

    def _info(self, name: str) -> SessionInfo:
        s = self._sessions[name]
        me = s.phone if s.status == "WORKING" else ""
        return SessionInfo(name=name, status=s.status, me_phone=me, metadata={"salon.id": str(s.salon_id)})

    def _start(self, name: str) -> SessionInfo:
        s = self._get(name)
        if s.status not in RUNNING:
            s.status = "WORKING" if s.phone else "SCAN_QR_CODE"
        return self._info(name)

    def _needs(self, name: str, status: str) -> _Session:
        s = self._get(name)
        if s.status != status:
            raise SessionNotReady(f"Session status is not as expected: {s.status}, expected {status}", status=422)
        return s

    # -- the Gateway protocol ------------------------------------------------------------------------
    def session_config(self, salon_id: int) -> dict[str, Any]:
        return {"metadata": {"salon.id": str(int(salon_id))}}

    def ensure_session(self, salon_id: int) -> SessionInfo:
        name = session_name(salon_id)
        self._call("ensure", name)
        self._sessions.setdefault(name, _Session(int(salon_id)))
        return self._start(name)

    def get_session(self, name: str) -> SessionInfo:
        self._call("get", name)
        self._get(name)
        return self._info(name)

    def list_sessions(self) -> list[SessionInfo]:
        self._call("list", "")
        return [self._info(name) for name in sorted(self._sessions)]

    def start_session(self, name: str) -> SessionInfo:
        self._call("start", name)
        return self._start(name)

    def restart_session(self, name: str) -> SessionInfo:
        self._call("restart", name)
        self._get(name).status = "STOPPED"
        return self._start(name)

    def stop_session(self, name: str) -> None:
        self._call("stop", name)
        self._get(name).status = "STOPPED"

    def logout(self, name: str) -> None:
        self._call("logout", name)
        s = self._get(name)
        running, s.phone = s.status in RUNNING, ""
        if running:
            s.status = "SCAN_QR_CODE"

    def delete_session(self, name: str) -> None:
        self._call("delete", name)
        self._sessions.pop(name, None)

    def get_qr_raw(self, name: str) -> str:
        self._call("qr", name)
        self._needs(name, "SCAN_QR_CODE")
        return f"2@stub-{name}-{next(self._ids)}"

    def request_code(self, name: str, phone: str) -> str:
        self._call("code", name)
        self._needs(name, "SCAN_QR_CODE")
        return "ABCD-EFGH"

    def send_text(self, name: str, chat_id: str, text: str) -> str:
        self._call("send", name)
        self._needs(name, "WORKING")
        ident = f"true_{chat_id}_{next(self._ids):08X}"
        self.sent.append({"id": ident, "session": name, "chatId": chat_id, "text": text})
        return ident

    def send_seen(self, name: str, chat_id: str) -> None:
        self._call("seen", name)
        self._needs(name, "WORKING")

    def start_typing(self, name: str, chat_id: str) -> None:
        self._call("typing", name)
        self._needs(name, "WORKING")

    def stop_typing(self, name: str, chat_id: str) -> None:
        self._call("typing_stop", name)
        self._needs(name, "WORKING")
