"""Flask app factory: the web process's composition root."""
from __future__ import annotations

import logging
import os

from flask import Flask, g
from flask.sessions import SessionInterface
from flask_sock import Sock

from runtime import green
from runtime.bootstrap import bootstrap
from runtime.container import Container
from runtime.heartbeat import Beater
from runtime.settings import Settings
from web import error_budget, errors, health, marketplace, webhooks
from web.context import EXTENSION
from web.metrics import blueprint as metrics_blueprint
from web.webhook_wsgi import WebhookFastPath

logger = logging.getLogger("aiadmin.web")


class NoSessions(SessionInterface):
    """The app keeps no Flask session: the onboarding page's cookie is its own (web/marketplace/session.py).
    Flask's default opened (built the signer for) a signed-cookie session on every request: ~2 % of a redirect's
    CPU under load (docs/performance/redirect.md, round 3). Flask's null session raises if anything writes to it."""

    def open_session(self, app, request):
        return self.make_null_session(app)

    def save_session(self, app, session, response):
        return None


sock = Sock()  # unbound; bound to each app in create_app (flask-sock's init_app pattern)


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> Flask:
    """`container` given (tests): used as is; otherwise `bootstrap(settings, "web")` builds it, and the
    process says "alive" (read by the detailed health answer)."""
    composed_here = container is None
    green.cooperate()  # psycopg2 through gevent in the gevent worker (after the fork: create_app runs there)
    container = container or bootstrap(settings, "web")
    if composed_here:
        Beater(container.redis, "web").start()
    settings = container.settings

    app = Flask(__name__)
    app.session_interface = NoSessions()
    app.config.update(
        MAX_CONTENT_LENGTH=256 * 1024,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    app.extensions[EXTENSION] = container

    @app.before_request
    def _open_request():
        g.request_id = os.urandom(6).hex()  # 12 hex characters, as uuid4().hex[:12] gave, at a third of the cost

    @app.teardown_request
    def _close_db(exc):
        db = container.database
        if not db.is_closed():
            db.close()

    errors.register(app)
    error_budget.install(app)  # 5xx and 413 count toward the address's budget of failed answers
    app.register_blueprint(health.blueprint)
    app.register_blueprint(metrics_blueprint)  # GET /metrics
    sock.init_app(app)
    marketplace.init_app(app, sock)  # redirect, onboarding page, status socket + fan-out, security headers
    webhooks.init_app(app, container)  # the process's single delivery writer and key cache
    app.wsgi_app = WebhookFastPath(app, container)  # an accepted delivery is answered before Flask's machinery
    return app
