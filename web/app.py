"""Flask app factory: the web process's composition root."""
from __future__ import annotations

import logging
import uuid

from flask import Flask, g
from flask_sock import Sock

from models.db import init_database
from models.live import LiveStatus
from settings import Settings
from web.context import WebContext
from workers.broker import build_broker, redis_client
from workers.jobs import Jobs

logger = logging.getLogger("aiadmin.web")
sock = Sock()  # unbound; bound to each app in create_app (flask-sock's init_app pattern)


def create_app(settings: Settings | None = None, *, context: WebContext | None = None) -> Flask:
    from settings import load_or_exit
    from workers.logs import configure_logging
    from workers.metrics import configure as configure_metrics

    settings = settings or load_or_exit()
    if context is None:
        configure_logging(settings, process="web")
        configure_metrics("web")
        database = init_database(settings.database_url)
        client = redis_client(settings)
        broker = build_broker(settings)
        from models.status_rebuild import rebuild_snapshot

        context = WebContext(settings=settings, database=database, redis=client, jobs=Jobs(broker),
                             live=LiveStatus(client, rebuild=rebuild_snapshot))
        from workers.heartbeat import Beater

        context.extras["heartbeat"] = Beater(client, "web").start()  # read by the detailed health answer

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.jwt_secret,
        MAX_CONTENT_LENGTH=256 * 1024,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    app.extensions["aiadmin"] = context

    @app.before_request
    def _open_request():
        g.request_id = uuid.uuid4().hex[:12]

    @app.teardown_request
    def _close_db(exc):
        db = context.database
        if not db.is_closed():
            db.close()

    from web import error_budget, errors, health, webhooks

    errors.register(app)
    error_budget.install(app)  # 5xx and 413 count toward the address's budget of failed answers
    app.register_blueprint(health.blueprint)
    from web.metrics import blueprint as metrics_blueprint
    app.register_blueprint(metrics_blueprint)  # GET /metrics
    from web import marketplace

    sock.init_app(app)
    marketplace.init_app(app, sock)  # redirect, onboarding page, status socket + fan-out, security headers
    app.register_blueprint(webhooks.blueprint)
    return app
