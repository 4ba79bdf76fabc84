"""Error pages: clear Russian HTML for people, JSON for machines, never a stack trace."""
from __future__ import annotations

import html
import logging

import peewee
import redis
from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

logger = logging.getLogger("aiadmin.web")

MARKETPLACE_URL = "https://yclients.com/marketplace"

PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1d1d1f;line-height:1.5}}
h1{{font-size:1.4rem}}a.button{{display:inline-block;margin-top:1rem;padding:.6rem 1rem;background:#1f6feb;color:#fff;border-radius:.4rem;text-decoration:none}}</style>
</head><body><main><h1>{title}</h1><p>{message}</p>{action}</main></body></html>"""


def error_page(status: int, title: str, message: str, *, back_url: str | None = MARKETPLACE_URL,
               back_label: str = "Вернуться в маркетплейс YCLIENTS", lang: str = "ru"):
    """An HTML error page; every piece of text is escaped."""
    action = (f'<a class="button" href="{html.escape(back_url, quote=True)}">{html.escape(back_label)}</a>'
              if back_url else "")
    body = PAGE.format(title=html.escape(title), message=html.escape(message), action=action,
                       lang="en" if lang == "en" else "ru")
    return body, status, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}


def _marketplace_url() -> str:
    """The real marketplace in production; the local sandbox's page when YCLIENTS_API_URL points at one."""
    from flask import current_app

    from web.marketplace import links

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
        from web.marketplace import messages

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
