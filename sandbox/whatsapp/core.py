"""The simulator's core: WhatsApp linking as WAHA (engine GOWS, i.e. whatsmeow) exposes it, on an injectable clock.

Six QR refs per linking window (the first shown 60 s, the next five 20 s: 160 s in all, then FAILED),
whatsmeow-shaped QR payloads, pairing codes from whatsmeow's alphabet as `XXXX-XXXX` (only while a QR
is shown), whatsmeow's phone rules, stale QR scans refused, stored credentials reconnecting without a
new link (stop keeps them; logout, delete, remote logout and bans remove them), sends recorded.
Every state change is emitted as a WAHA-shaped webhook envelope through `on_event`.
"""
from __future__ import annotations

import base64
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"
QR_TTLS = (60, 20, 20, 20, 20, 20)
WINDOW = sum(QR_TTLS)  # 160 s
RUNNING = ("STARTING", "SCAN_QR_CODE", "WORKING")


class SimError(Exception):
    status = 400

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        if status is not None:
            self.status = status


class NotFound(SimError):
    status = 404


class Unprocessable(SimError):
    status = 422


def _b64(n: int) -> str:
    return base64.b64encode(os.urandom(n)).decode()


def pairing_code() -> str:
    n = int.from_bytes(secrets.token_bytes(5), "big")  # 40 bits -> 8 characters of 5 bits
    chars = "".join(ALPHABET[(n >> (35 - 5 * i)) & 31] for i in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def check_phone(phone: str) -> str:
    """whatsmeow PairPhone: digits only (a leading + is tolerated), more than 6 of them, no leading 0."""
    digits = str(phone or "").strip().lstrip("+")
    if not digits.isdigit() or len(digits) <= 6 or digits.startswith("0"):
        raise SimError("invalid phone number: digits with the international prefix expected", 400)
    return digits


@dataclass
class SimSession:
    name: str
    config: dict[str, Any]
    status: str = "STOPPED"
    creds_phone: str | None = None  # stored credentials: the linked account
    device: int = 0
    window_start: float | None = None
    keys: tuple[str, str, str] = ("", "", "")
    refs: list[str] = field(default_factory=list)
    emitted_index: int = -1  # the last QR index announced with a SCAN_QR_CODE webhook
    pairing: dict[str, str] | None = None
    restricted: bool = False  # error 463 on sends (reach-out timelock)
    banned: int | None = None  # temporary-ban reason code (101-106) until linked again
    statuses: list[dict[str, Any]] = field(default_factory=list)

    def me(self, with_device: bool = False) -> dict[str, str] | None:
        if self.status != "WORKING" or not self.creds_phone:
            return None
        ident = f"{self.creds_phone}:{self.device}@c.us" if with_device else f"{self.creds_phone}@c.us"
        return {"id": ident, "pushName": "Salon phone"}


class SimCore:
    def __init__(self, clock: Callable[[], float] = time.time,
                 on_event: Callable[[list[dict], dict], None] | None = None):
        self.clock = clock
        self.on_event = on_event or (lambda hooks, envelope: None)
        self.sessions: dict[str, SimSession] = {}
        self.messages: list[dict[str, Any]] = []  # everything sendText accepted
        self.chat_actions: list[dict[str, Any]] = []  # seen / typing
        self.events: list[dict[str, Any]] = []  # every webhook envelope emitted
        self.faults: dict[str, Any] = {}
        self.lock = threading.RLock()

    # -- events ---------------------------------------------------------------------------------
    def _emit(self, s: SimSession, event: str, payload: dict[str, Any]) -> None:
        now = getattr(self.clock, "wall", self.clock)()  # the envelope's timestamp is wall time, as WAHA's
        envelope = {"id": "evt_" + secrets.token_hex(13).upper(), "timestamp": int(now * 1000), "event": event,
                    "session": s.name, "metadata": dict(s.config.get("metadata") or {}),
                    "me": s.me(bool(self.faults.get("me_with_device"))), "payload": payload, "engine": "GOWS",
                    "environment": {"version": "2026.8.1", "engine": "GOWS", "tier": "CORE"}}
        self.events.append(envelope)
        self.on_event(list(s.config.get("webhooks") or []), envelope)

    def _set_status(self, s: SimSession, status: str) -> None:
        s.status = status
        s.statuses = (s.statuses + [{"status": status, "timestamp": int(self.clock() * 1000)}])[-10:]
        self._emit(s, "session.status", {"name": s.name, "status": status, "statuses": list(s.statuses)})

    # -- sessions -------------------------------------------------------------------------------
    def get(self, name: str) -> SimSession:
        with self.lock:
            self.tick()
            if name not in self.sessions:
                raise NotFound(f"Session '{name}' does not exist")
            return self.sessions[name]

    def create(self, name: str, config: dict[str, Any] | None, start: bool = True) -> SimSession:
        with self.lock:
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,54}", name or ""):
                raise SimError("invalid session name")
            if name in self.sessions:
                raise Unprocessable(f"Session '{name}' already exists. Use PUT to update it.")
            s = self.sessions[name] = SimSession(name=name, config=dict(config or {}))
            if start:
                self.start(name)
            return s

    def start(self, name: str) -> SimSession:
        with self.lock:
            s = self.get(name)
            if s.status in RUNNING:
                return s  # documented as idempotent
            self._set_status(s, "STARTING")
            if s.creds_phone:
                self._set_status(s, "WORKING")  # stored credentials reconnect without a new link
            else:
                self._new_window(s)
            return s

    def _new_window(self, s: SimSession) -> None:
        s.keys = (_b64(32), _b64(32), _b64(32))  # noise pub, identity pub, adv secret
        s.refs = ["2@" + _b64(48) for _ in QR_TTLS]
        s.window_start, s.emitted_index, s.pairing = self.clock(), 0, None
        self._set_status(s, "SCAN_QR_CODE")

    def stop(self, name: str) -> SimSession:
        with self.lock:
            s = self.get(name)
            s.window_start, s.pairing = None, None
            if s.status != "STOPPED":
                self._set_status(s, "STOPPED")
            return s

    def restart(self, name: str) -> SimSession:
        with self.lock:
            self.stop(name)
            return self.start(name)

    def logout(self, name: str) -> SimSession:
        """Removes the credentials; a running session restarts from scratch (back to QR), as WAHA does."""
        with self.lock:
            s = self.get(name)
            running = s.status in RUNNING
            s.creds_phone = None
            if running:
                self.restart(name)
            return s

    def delete(self, name: str) -> None:
        with self.lock:
            s = self.get(name)
            s.creds_phone = None
            self.stop(name)
            del self.sessions[name]

    # -- time -----------------------------------------------------------------------------------
    def qr_index(self, s: SimSession) -> int | None:
        """Which of the six refs is on screen now; None once the 160 s window is over."""
        if s.window_start is None:
            return None
        elapsed, bound = self.clock() - s.window_start, 0
        for index, ttl in enumerate(QR_TTLS):
            bound += ttl
            if elapsed < bound:
                return index
        return None

    def tick(self) -> None:
        """Rotate QR codes and expire windows whose time has come (announcing each with a webhook)."""
        with self.lock:
            for s in list(self.sessions.values()):
                if s.status != "SCAN_QR_CODE":
                    continue
                index = self.qr_index(s)
                if index is None:
                    s.window_start, s.pairing = None, None
                    self._set_status(s, "FAILED")  # the login socket closes after the sixth code
                elif index > s.emitted_index:
                    s.emitted_index = index
                    self._set_status(s, "SCAN_QR_CODE")  # WAHA re-emits the status on every rotation

    # -- linking --------------------------------------------------------------------------------
    def _awaiting(self, name: str) -> SimSession:
        s = self.get(name)
        if s.status != "SCAN_QR_CODE":
            raise Unprocessable(f"Session status is not as expected: {s.status}, expected SCAN_QR_CODE")
        return s

    def current_qr(self, name: str) -> str:
        with self.lock:
            s = self._awaiting(name)
            noise, identity, adv = s.keys
            return f"https://wa.me/settings/linked_devices#{s.refs[self.qr_index(s)]},{noise},{identity},{adv},1"

    def request_code(self, name: str, phone: str) -> str:
        with self.lock:
            s = self._awaiting(name)
            s.pairing = {"code": pairing_code(), "phone": check_phone(phone)}
            return s.pairing["code"]

    def scan(self, name: str, phone: str, payload: str | None = None) -> SimSession:
        """The phone's camera reads the QR on screen (or `payload`, which must be the current one)."""
        with self.lock:
            current = self.current_qr(name)
            if payload is not None and payload.strip() != current:
                raise SimError("stale QR code: it has already been replaced", 409)
            return self._link(self.sessions[name], check_phone(phone))

    def enter_code(self, name: str, code: str, phone: str | None = None) -> SimSession:
        with self.lock:
            s = self._awaiting(name)
            typed = re.sub(r"[\s-]", "", str(code or "")).upper()
            if not s.pairing or typed != s.pairing["code"].replace("-", ""):
                raise SimError("wrong or expired pairing code", 409)
            if phone is not None and check_phone(phone) != s.pairing["phone"]:
                raise SimError("the code was requested for another phone number", 409)
            return self._link(s, s.pairing["phone"])

    def _link(self, s: SimSession, phone: str) -> SimSession:
        s.creds_phone, s.device = phone, secrets.randbelow(40) + 1
        s.window_start, s.pairing, s.restricted, s.banned = None, None, False, None
        self._set_status(s, "WORKING")  # PairSuccess, the 515 reconnect, then Connected: WAHA says WORKING
        return s

    # -- the phone's side of failures -----------------------------------------------------------------
    def remote_logout(self, name: str) -> SimSession:
        with self.lock:
            s = self.get(name)
            s.creds_phone, s.window_start = None, None
            self._set_status(s, "FAILED")  # logged out from the phone: FAILED and me null
            return s

    def ban(self, name: str, code: int = 101) -> SimSession:
        with self.lock:
            s = self.get(name)
            if int(code) == 463:
                s.restricted = True  # reach-out timelock: the session stays up, new chats are refused
            else:
                s.creds_phone, s.window_start, s.banned = None, None, int(code)
                self._set_status(s, "FAILED")
            return s

    # -- messages -------------------------------------------------------------------------------
    def _working(self, name: str) -> SimSession:
        s = self.get(name)
        if s.status != "WORKING":
            raise Unprocessable(f"Session status is not as expected: {s.status}, expected WORKING")
        return s

    def send_text(self, name: str, chat_id: str, text: str) -> dict[str, Any]:
        with self.lock:
            if name in self.sessions and self.sessions[name].banned:
                raise SimError(f"account temporarily banned (reason {self.sessions[name].banned})", 500)
            s = self._working(name)
            if self.faults.get("send_5xx", 0):
                self.faults["send_5xx"] = int(self.faults["send_5xx"]) - 1
                raise SimError("Internal server error (simulated)", 500)
            if s.restricted or self.faults.get("send_463"):
                raise SimError("server returned error 463 (reach-out timelock)", 500)
            if not re.fullmatch(r"\d{7,15}@(c\.us|s\.whatsapp\.net|lid)", chat_id or "") \
                    and not re.fullmatch(r"[\d-]+@g\.us", chat_id or ""):
                raise SimError(f"invalid chatId {chat_id!r}: phone number expected", 400)
            message = {"id": f"true_{chat_id}_{secrets.token_hex(10).upper()}", "session": name,
                       "chatId": chat_id, "text": str(text), "timestamp": self.clock()}
            self.messages.append(message)
            return message

    def chat_action(self, name: str, action: str, chat_id: str) -> None:
        with self.lock:
            self._working(name)
            self.chat_actions.append({"session": name, "action": action, "chatId": chat_id, "at": self.clock()})

    def incoming(self, name: str, from_phone: str, text: str) -> dict[str, Any]:
        with self.lock:
            s = self._working(name)
            sender = f"{check_phone(from_phone)}@c.us"
            payload = {"id": f"false_{sender}_{secrets.token_hex(10).upper()}", "timestamp": int(self.clock()),
                       "from": sender, "fromMe": False, "to": f"{s.creds_phone}@c.us", "body": str(text),
                       "hasMedia": False, "ack": 1, "_data": {}}
            self._emit(s, "message", payload)
            return payload
