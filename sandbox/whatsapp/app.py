"""The WhatsApp simulator app factory: WAHA's HTTP API over SimCore, plus `/_sim` routes that play the phone."""
from __future__ import annotations

import hmac
import os
import threading
import time
from typing import Any

from flask import Flask, jsonify, redirect, request

from sandbox.whatsapp.core import SimCore, SimError

DEFAULT_API_KEY = "dev-waha-api-key"  # the development default of WAHA_API_KEY (settings.py)


class OffsetClock:
    """Real time plus an offset that `/_sim/clock` can advance, so expiry is testable over HTTP without sleeping."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    @staticmethod
    def wall() -> float:
        """The host's real clock: what WAHA stamps webhook envelopes with (the offset only ages the phone's
        timers; a real gateway cannot travel in time, and the bridge refuses envelopes from the future)."""
        return time.time()


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """config: `api_key`, `core` (a SimCore), `webhooks` (False: keep events in memory only), `ticker` (seconds
    between background QR-rotation checks; 0/None: rotate only when the API is called)."""
    config = dict(config or {})
    api_key = config.get("api_key") or os.environ.get("WAHA_API_KEY") or DEFAULT_API_KEY
    clock = config.get("clock") or OffsetClock()
    core = config.get("core")
    if core is None:
        sender = None
        if config.get("webhooks", True):
            from sandbox.whatsapp.delivery import WebhookSender

            sender = WebhookSender()
        core = SimCore(clock=clock, on_event=sender)
    if config.get("ticker"):
        _start_ticker(core, float(config["ticker"]))

    app = Flask(__name__)
    app.extensions["whatsapp_sim"] = core

    @app.errorhandler(SimError)
    def _sim_error(exc: SimError):
        names = {400: "Bad Request", 404: "Not Found", 409: "Conflict", 422: "Unprocessable Entity",
                 500: "Internal Server Error"}
        return jsonify(statusCode=exc.status, message=str(exc), error=names.get(exc.status, "Error")), exc.status

    @app.before_request
    def _guard():
        path = request.path
        if not path.startswith("/api/"):
            return None
        if core.faults.get("down"):
            return jsonify(statusCode=503, message="gateway down (simulated)"), 503
        if core.faults.get("delay"):
            time.sleep(float(core.faults["delay"]))  # a hanging gateway: callers must time out
        if not hmac.compare_digest(request.headers.get("X-Api-Key", ""), api_key):
            return jsonify(statusCode=401, message="Unauthorized"), 401
        return None

    def body() -> dict[str, Any]:
        if request.is_json:
            return request.get_json(silent=True) or {}
        return request.form.to_dict()

    def session_json(s) -> dict[str, Any]:
        return {"name": s.name, "status": s.status, "config": s.config, "engine": {"engine": "GOWS"},
                "me": s.me(bool(core.faults.get("me_with_device")))}

    # -- WAHA API -------------------------------------------------------------------------------
    @app.get("/api/sessions")
    def list_sessions():
        with core.lock:
            core.tick()
            everyone = request.args.get("all") in ("true", "1")
            return jsonify([session_json(s) for s in core.sessions.values() if everyone or s.status != "STOPPED"])

    @app.post("/api/sessions")
    def create_session():
        data = body()
        s = core.create(str(data.get("name") or "default"), data.get("config") or {}, bool(data.get("start", True)))
        return jsonify(session_json(s)), 201

    @app.get("/api/sessions/<name>")
    def get_session(name):
        return jsonify(session_json(core.get(name)))

    @app.get("/api/sessions/<name>/me")
    def get_me(name):
        return jsonify(core.get(name).me(bool(core.faults.get("me_with_device"))))

    @app.post("/api/sessions/<name>/<action>")
    def session_action(name, action):
        handlers = {"start": core.start, "stop": core.stop, "restart": core.restart, "logout": core.logout}
        if action not in handlers:
            raise SimError(f"unknown action {action}", 404)
        return jsonify(session_json(handlers[action](name))), 201

    @app.delete("/api/sessions/<name>")
    def delete_session(name):
        core.delete(name)
        return jsonify(), 200

    @app.get("/api/<name>/auth/qr")
    def qr(name):
        value = core.current_qr(name)
        if request.args.get("format") == "raw":
            return jsonify(value=value)
        from bridge.qr import render_svg  # an image for people; the bridge asks for the raw value

        return app.response_class(render_svg(value), mimetype="image/svg+xml")

    @app.post("/api/<name>/auth/request-code")
    def request_code(name):
        return jsonify(code=core.request_code(name, str(body().get("phoneNumber") or "")))

    @app.post("/api/sendText")
    def send_text():
        data = body()
        message = core.send_text(str(data.get("session") or ""), str(data.get("chatId") or ""),
                                 str(data.get("text") or ""))
        if core.faults.get("send_timeout"):
            time.sleep(float(core.faults["send_timeout"]))  # recorded, but the answer comes too late
        return jsonify(id=message["id"], timestamp=int(message["timestamp"])), 201

    @app.post("/api/<action>")
    def chat_action(action):
        if action not in ("sendSeen", "startTyping", "stopTyping"):
            raise SimError(f"unknown endpoint {action}", 404)
        data = body()
        core.chat_action(str(data.get("session") or ""), action, str(data.get("chatId") or ""))
        return jsonify(), 201

    # -- the phone and the knobs (no API key: this is the person holding the phone) -------------------
    def done(payload):
        if request.is_json:
            return jsonify(payload)
        return redirect("/", 303)

    @app.post("/_sim/<name>/scan")
    def sim_scan(name):
        data = body()
        s = core.scan(name, str(data.get("phone") or _default_phone(name)), data.get("payload") or None)
        return done({"status": s.status, "phone": s.creds_phone})

    @app.post("/_sim/<name>/enter-code")
    def sim_enter_code(name):
        data = body()
        s = core.enter_code(name, str(data.get("code") or ""), data.get("phone") or None)
        return done({"status": s.status, "phone": s.creds_phone})

    @app.post("/_sim/<name>/incoming")
    def sim_incoming(name):
        data = body()
        return done(core.incoming(name, str(data.get("from") or ""), str(data.get("text") or "")))

    @app.post("/_sim/<name>/remote-logout")
    def sim_remote_logout(name):
        return done({"status": core.remote_logout(name).status})

    @app.post("/_sim/<name>/ban")
    def sim_ban(name):
        s = core.ban(name, int(body().get("code") or 101))
        return done({"status": s.status, "restricted": s.restricted})

    @app.get("/_sim/messages")
    def sim_messages():
        session = request.args.get("session")
        return jsonify([m for m in core.messages if not session or m["session"] == session])

    @app.get("/_sim/events")
    def sim_events():
        return jsonify(core.events)

    @app.get("/_sim/chat-actions")
    def sim_chat_actions():
        return jsonify(core.chat_actions)

    @app.route("/_sim/faults", methods=["GET", "POST"])
    def sim_faults():
        if request.method == "POST":
            data = body()
            if data.get("reset"):
                core.faults.clear()
            core.faults.update({k: v for k, v in data.items() if k != "reset"})
        return jsonify(core.faults)

    @app.post("/_sim/clock")
    def sim_clock():
        if not isinstance(clock, OffsetClock):
            raise SimError("this simulator's clock cannot be advanced over HTTP", 409)
        clock.offset += float(body().get("advance") or 0)
        core.tick()
        return jsonify(offset=clock.offset)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok", service="whatsapp-sim")

    @app.get("/")
    def index():
        from sandbox.whatsapp.page import render_index

        return render_index(core)

    return app


def _default_phone(name: str) -> str:
    digits = "".join(ch for ch in name if ch.isdigit())[-7:].rjust(7, "0")
    return "7999" + digits


def _start_ticker(core: SimCore, interval: float) -> None:
    """QR rotation and expiry announce themselves even if nobody calls the API (as the real gateway does)."""

    def run():
        while True:
            time.sleep(interval)
            try:
                core.tick()
            except Exception:  # the ticker must survive anything a webhook handler does
                pass

    threading.Thread(target=run, name="qr-ticker", daemon=True).start()
