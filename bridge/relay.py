"""The bridge relay's app factory (process `bridge`): receives WAHA webhooks and relays them inward."""
from __future__ import annotations

import logging
import time
from typing import Callable

from flask import Flask, jsonify, request

from bridge import webhooks
from bridge.dispatch import handle_event
from bridge.linking import LinkDeps
from runtime.bootstrap import bootstrap
from runtime.container import Container
from runtime.gateway.probe import Prober
from runtime.heartbeat import Beater
from runtime.metrics_endpoint import respond as metrics_respond
from runtime.settings import Settings

logger = logging.getLogger("aiadmin.bridge.relay")

EXTENSION = "bridge"


def create_app(settings: Settings | None = None, *, container: Container | None = None,
               clock: Callable[[], float] = time.time) -> Flask:
    """`container` given (tests): used as is; otherwise `bootstrap(settings, "bridge")` builds it, and the
    process says "alive" and probes the gateway for the detailed health answer."""
    composed_here = container is None
    container = container or bootstrap(settings, "bridge")
    if composed_here:
        Beater(container.redis, "bridge", extra=Prober(container.gateway, container.redis)).start()
    secret = container.settings.waha_webhook_secret
    deps = LinkDeps.of(container)
    deduper = webhooks.Deduper(container.redis)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.extensions[EXTENSION] = container

    app.add_url_rule("/metrics", "metrics", lambda: metrics_respond(container.settings))

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.post("/waha/webhook")
    def waha_webhook():
        body = request.get_data(cache=False)
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
        container.database.connect(reuse_if_open=True)
        return jsonify(status=handle_event(deps, deduper, event))

    @app.teardown_request
    def _close_db(exc):
        db = container.database
        if not db.is_closed():
            db.close()

    return app
