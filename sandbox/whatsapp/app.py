"""The WhatsApp simulator app factory."""
from __future__ import annotations

from flask import Flask, jsonify


def create_app(config=None) -> Flask:
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok", service="whatsapp-sim")

    return app
