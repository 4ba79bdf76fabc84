"""The bridge relay's app factory (process `bridge`): receives WAHA webhooks and relays them inward."""
from __future__ import annotations

from flask import Flask, jsonify

from settings import Settings


def create_app(settings: Settings | None = None, *, context=None) -> Flask:
    from models.db import init_database
    from models.live import LiveStatus
    from settings import load_or_exit
    from workers.broker import build_broker, redis_client
    from workers.jobs import Jobs
    from workers.logs import configure_logging

    settings = settings or load_or_exit()
    if context is None:
        configure_logging(settings, process="bridge")
        database = init_database(settings.database_url)
        client = redis_client(settings)
        context = {"settings": settings, "database": database, "redis": client,
                   "jobs": Jobs(build_broker(settings)), "live": LiveStatus(client)}

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.extensions["bridge"] = context

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.teardown_request
    def _close_db(exc):
        db = context["database"]
        if not db.is_closed():
            db.close()

    return app
