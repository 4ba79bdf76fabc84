"""The bridge relay's app factory (process `bridge`): receives WAHA webhooks and relays them inward."""
from __future__ import annotations

import logging
import time

from flask import Flask, jsonify, request

from settings import Settings

logger = logging.getLogger("aiadmin.bridge.relay")


def create_app(settings: Settings | None = None, *, context=None) -> Flask:
    from models.db import init_database
    from models.live import LiveStatus
    from settings import load_or_exit
    from workers.broker import build_broker, redis_client
    from workers.jobs import Jobs
    from workers.logs import configure_logging
    from workers.metrics import configure as configure_metrics
    from workers.metrics_http import respond as metrics_respond

    settings = settings or load_or_exit()
    composed_here = context is None
    if context is None:
        configure_logging(settings, process="bridge")
        configure_metrics("bridge")
        database = init_database(settings.database_url)
        client = redis_client(settings)
        context = {"settings": settings, "database": database, "redis": client,
                   "jobs": Jobs(build_broker(settings)), "live": LiveStatus(client)}

    if "waha" not in context:
        from bridge.waha import client_from_settings

        context["waha"] = client_from_settings(context.get("settings") or settings)
    if composed_here:  # the real process: say "alive" and probe the gateway for /marketplace/health
        from bridge.gateway_probe import Prober
        from workers.heartbeat import Beater

        context["heartbeat"] = Beater(context["redis"], "bridge", extra=Prober(context["waha"], context["redis"])).start()

    clock = context.get("clock") or time.time
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.extensions["bridge"] = context

    app.add_url_rule("/metrics", "metrics", lambda: metrics_respond(context["settings"]))

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.post("/waha/webhook")
    def waha_webhook():
        from bridge import webhooks
        from bridge.dispatch import handle_event
        from bridge.linking import LinkDeps

        body = request.get_data(cache=False)
        secret = (context.get("settings") or settings).waha_webhook_secret
        # Verify before parsing: an unsigned body is never even read as JSON.
        if not webhooks.verify_signature(secret, body, request.headers.get("X-Webhook-Hmac")):
            return jsonify(error="invalid signature"), 401
        try:
            event = webhooks.parse(body)
        except webhooks.BadWebhook as exc:
            return jsonify(error=str(exc)), 400
        if event.stale(clock()):  # a replayed (or clock-skewed) event is never applied, dedup key or not
            logger.warning("gateway webhook refused: stale or missing timestamp (event %s, salon %s)",
                           event.event, event.salon_id)
            return jsonify(error="stale event: timestamp missing or outside the freshness window"), 400
        context["database"].connect(reuse_if_open=True)
        deps = LinkDeps(waha=context["waha"], redis=context["redis"], live=context["live"], jobs=context["jobs"])
        outcome = handle_event(deps, webhooks.Deduper(context["redis"]), event)
        return jsonify(status=outcome)

    @app.teardown_request
    def _close_db(exc):
        db = context["database"]
        if not db.is_closed():
            db.close()

    return app
