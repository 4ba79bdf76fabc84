"""The salon owner's journey: marketplace redirect, onboarding page, live status (websocket + polling)."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask, sock) -> None:
    """Register the blueprints and the websocket route on `app` (called once by `create_app`)."""
    from web.marketplace import onboarding, realtime, redirect, security
    from web.marketplace.fanout import Fanout

    context = app.extensions["aiadmin"]
    # One pub/sub listener per web process; its thread starts on the first subscription.
    context.extras.setdefault("fanout", Fanout(context.redis))
    app.config.setdefault("SOCK_SERVER_OPTIONS", {"ping_interval": realtime.PING_INTERVAL,
                                                  "max_message_size": realtime.MAX_MESSAGE_SIZE})
    app.register_blueprint(redirect.blueprint)
    app.register_blueprint(onboarding.blueprint)
    realtime.register(sock)
    security.install(app)
