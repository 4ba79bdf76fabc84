"""The salon owner's journey: marketplace redirect, onboarding page, live status (websocket + polling)."""
from __future__ import annotations

from flask import Flask

from web.marketplace import fanout, onboarding, ratelimit, realtime, redirect, security


def init_app(app: Flask, sock) -> None:
    """Register the blueprints and the websocket route on `app` (called once by `create_app`)."""
    container = app.extensions["aiadmin"]
    # One pub/sub listener per web process; its thread starts on the first subscription.
    app.extensions.setdefault(fanout.EXTENSION, fanout.Fanout(container.redis))
    app.extensions.setdefault(ratelimit.EXTENSION, ratelimit.RateLimiter(container.redis))
    app.config.setdefault("SOCK_SERVER_OPTIONS", {"ping_interval": realtime.PING_INTERVAL,
                                                  "max_message_size": realtime.MAX_MESSAGE_SIZE})
    app.register_blueprint(redirect.blueprint)
    app.register_blueprint(onboarding.blueprint)
    realtime.register(sock)
    security.install(app)
