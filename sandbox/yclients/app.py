"""The YCLIENTS sandbox app factory: marketplace page, partner API and data API over generated salons,
a per-source rate limit with request counting, and fault knobs (`/_sandbox/...`)."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from flask import Flask, jsonify, request

from sandbox.yclients.data import Catalog
from sandbox.yclients.faults import FaultState
from sandbox.yclients.limits import Limits, parse_budget
from sandbox.yclients.rendered import Rendered
from sandbox.yclients.state import Installs


@dataclass
class SandboxContext:
    partner_token: str
    partner_id: str  # what YCLIENTS expects in X-Partner-Id on data calls
    app_id: int
    public_base_url: str
    catalog: Catalog
    installs: Installs
    limits: Limits
    faults: FaultState
    rendered: Rendered = field(default_factory=Rendered)  # clients and records as JSON bytes, once each


def context_from_env(env=None) -> SandboxContext:
    env = os.environ if env is None else env
    return SandboxContext(
        partner_token=env.get("YCLIENTS_PARTNER_TOKEN", "dev-partner-token"),
        partner_id=(env.get("YCLIENTS_SANDBOX_PARTNER_ID") or env.get("YCLIENTS_PARTNER_ID") or "1").strip(),
        app_id=int(env.get("YCLIENTS_APP_ID", "18289")),
        public_base_url=env.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        catalog=Catalog(),
        installs=Installs(),
        limits=Limits(parse_budget(env.get("YCLIENTS_SANDBOX_RATE_LIMIT") or env.get("YCLIENTS_RATE_LIMIT"))),
        faults=FaultState(),
    )


def create_app(config: SandboxContext | None = None) -> Flask:
    from sandbox.yclients import api, marketplace

    app = Flask(__name__)
    app.config["SANDBOX"] = sandbox = config or context_from_env()
    app.register_blueprint(marketplace.bp)
    app.register_blueprint(api.bp)

    @app.before_request
    def rate_limit_and_faults():
        path = request.path
        if not (path.startswith("/api/") or path.startswith("/marketplace/")):
            return None
        wait = sandbox.limits.hit(request.remote_addr or "?", request.url_rule.rule if request.url_rule else path)
        if wait > 0:
            response, status = marketplace.envelope(None, 429, "Превышен лимит запросов")
            response.headers["Retry-After"] = str(max(1, int(wait + 0.999)))
            return response, status
        faults = sandbox.faults.snapshot()
        if faults["latency_ms"]:
            time.sleep(faults["latency_ms"] / 1000.0)
        if path.startswith("/api/") and sandbox.faults.roll_error():
            if faults["html_errors"]:
                return marketplace.html_error(502)
            return marketplace.envelope(None, 500, "Внутренняя ошибка сервера")
        return None

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok", service="yclients-sandbox")

    @app.get("/_sandbox/stats")
    def stats():
        return jsonify(sandbox.limits.stats())

    @app.post("/_sandbox/prerender")
    def prerender():
        """Render every client and record of a salon now (a benchmark calls it before its clock starts)."""
        data = sandbox.catalog.get(int((request.get_json(force=True) or {}).get("salon_id", 0)))
        if data is None:
            return jsonify(error="unknown salon"), 404
        return jsonify(sandbox.rendered.prerender(data))

    @app.get("/_sandbox/faults")
    def get_faults():
        return jsonify(sandbox.faults.snapshot())

    @app.post("/_sandbox/faults")
    def set_faults():
        try:
            return jsonify(sandbox.faults.update(request.get_json(force=True) or {}))
        except KeyError as exc:
            return jsonify(error=f"unknown fault {exc}"), 400

    @app.post("/_sandbox/reset")
    def reset():
        sandbox.faults.reset()
        sandbox.limits.reset()
        sandbox.installs.reset()
        return jsonify(ok=True)

    @app.get("/_sandbox/installs")
    def installs():
        return jsonify(salons={str(k): v for k, v in sandbox.installs.salons.items()},
                       callbacks=list(sandbox.installs.callbacks))

    @app.post("/_sandbox/webhooks")
    def send_webhook():
        """Send a lifecycle webhook to PUBLIC_BASE_URL/webhook/yclients, or a data webhook to the URL the
        salon registered in its activation callback's webhook_urls."""
        from sandbox.yclients import webhooks

        body = request.get_json(force=True) or {}
        salon_id, kind = int(body["salon_id"]), body["kind"]
        if kind in ("uninstall", "freeze"):
            if kind == "uninstall":
                sandbox.installs.uninstall(salon_id, "marketplace")
            payload = webhooks.lifecycle_payload(salon_id, sandbox.app_id, kind, sandbox.partner_token)
            url = body.get("url") or f"{sandbox.public_base_url}/webhook/yclients"
        else:
            data = sandbox.catalog.get(salon_id)
            entry = sandbox.installs.get(salon_id) or {}
            url = body.get("url") or next(iter(entry.get("webhook_urls") or []), "")
            if data is None or not url:
                return jsonify(error="unknown salon or no webhook_urls registered (activate it first)"), 400
            payload = webhooks.data_payload(data, kind, body.get("status") or "update", body.get("resource_id"),
                                            body.get("comment") or "")
        try:
            return jsonify(webhooks.deliver(url, payload))
        except Exception as exc:  # the operator wants to see why delivery failed, not a 500
            return jsonify(url=url, status=0, error=f"{type(exc).__name__}: {exc}", payload=payload), 502

    @app.post("/_sandbox/salons/<int:salon_id>/records/<int:record_id>/delete")
    def delete_record(salon_id, record_id):
        """Delete a record in «YCLIENTS»: lists stop showing it, `with_deleted=1` shows it `deleted`, and with
        {"webhook": true} the delete webhook goes to the salon's registered URL (like the real one)."""
        import datetime as dt
        from zoneinfo import ZoneInfo

        from sandbox.yclients import webhooks
        from sandbox.yclients.data import iso

        data = sandbox.catalog.get(salon_id)
        if data is None or data.index_of_record(record_id) is None:
            return jsonify(error="unknown salon or record"), 404
        now = dt.datetime.now(ZoneInfo(data.spec.timezone)).replace(tzinfo=None)
        sandbox.installs.delete_record(salon_id, record_id, iso(now, data.spec.timezone))
        body = request.get_json(silent=True) or {}
        if not body.get("webhook"):
            return jsonify(deleted=record_id)
        entry = sandbox.installs.get(salon_id) or {}
        url = body.get("url") or next(iter(entry.get("webhook_urls") or []), "")
        if not url:
            return jsonify(error="no webhook_urls registered (activate it first)"), 400
        payload = webhooks.data_payload(data, "record", "delete", record_id)
        return jsonify(webhooks.deliver(url, payload))

    @app.get("/_sandbox/salons/<int:salon_id>/digest")
    def digest(salon_id):
        """Counts and a checksum of what a full sync over [start, end] must store (for tests)."""
        from sandbox.yclients.digest import salon_digest

        data = sandbox.catalog.get(salon_id)
        if data is None:
            return jsonify(error="unknown salon"), 404
        return jsonify(salon_digest(data, request.args["start_date"], request.args["end_date"],
                                    deleted=sandbox.installs.deleted_records(salon_id)))

    return app
