"""Error pages: clear Russian HTML for people, JSON for machines, never a stack trace."""
from __future__ import annotations

import logging

import peewee
import redis
from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from web.error_page import MARKETPLACE_URL, error_page
from web.marketplace import links, messages

logger = logging.getLogger("aiadmin.web")

def _marketplace_url() -> str:
    """The real marketplace in production; the local sandbox's page when YCLIENTS_API_URL points at one."""
    context = current_app.extensions.get("aiadmin") if current_app else None
    return links.marketplace_url(context.settings) if context is not None else MARKETPLACE_URL


def wants_json() -> bool:
    if request.path.startswith(("/webhook/", "/marketplace/status", "/marketplace/pairing-code",
                                "/marketplace/restart-linking",
                                "/marketplace/health", "/healthz", "/metrics")):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json"


def register(app: Flask) -> None:
    @app.errorhandler(peewee.OperationalError)
    @app.errorhandler(peewee.InterfaceError)
    def database_unavailable(exc):
        logger.error("database unavailable: %s", exc.__class__.__name__)
        if wants_json():
            return jsonify(error="database_unavailable",
                           message="Service temporarily unavailable, please retry shortly."), 503
        return error_page(503, "Сервис временно недоступен",
                          "База данных временно недоступна. Пожалуйста, повторите попытку через минуту.")

    @app.errorhandler(redis.RedisError)
    def redis_unavailable(exc):
        logger.error("redis unavailable: %s", exc.__class__.__name__)
        if wants_json():
            return jsonify(error="queue_unavailable",
                           message="Service temporarily unavailable, please retry shortly."), 503
        return error_page(503, "Сервис временно недоступен",
                          "Очередь задач временно недоступна. Пожалуйста, повторите попытку через минуту.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if wants_json():
            return jsonify(error=exc.name.lower().replace(" ", "_"), message=exc.description), exc.code
        lang = messages.language()
        title, text, back = messages.http_error(exc.code or 500, lang)
        page = error_page(exc.code or 500, title, text, back_url=_marketplace_url(), back_label=back, lang=lang)
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            page[2]["Allow"] = ", ".join(exc.valid_methods)
        return page

    @app.errorhandler(Exception)
    def unexpected(exc):
        logger.exception("unhandled error on %s", request.path)
        if wants_json():
            return jsonify(error="internal_error", message="Internal error."), 500
        return error_page(500, "Внутренняя ошибка",
                          "Что-то пошло не так. Попробуйте ещё раз или подключитесь заново из маркетплейса.")
