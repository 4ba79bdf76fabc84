"""Per-address budget of failed answers: 5xx and 413 count, and an address past the budget gets 429.

An answer we could not give (a 500 from input nobody foresaw) or a body too large to read costs us the
most per request, so an address that keeps causing them is cut off before its next request is handled,
whatever the route. 503 does not count: it is our own outage (database or Redis down), not the caller's
doing, and counting it would lock YCLIENTS' webhook senders out exactly when they must retry.
"""
from __future__ import annotations

import logging

from flask import Flask, jsonify, request

from web.error_page import error_page
from web.errors import wants_json
from web.marketplace.ratelimit import ERROR_BUDGET, BudgetSpent, limiter
from web.marketplace.session import client_ip

logger = logging.getLogger("aiadmin.web")

BUDGET = ERROR_BUDGET  # (key template, failed answers, window seconds)
EXEMPT = ("/healthz", "/marketplace/health", "/metrics")  # probes: never cut off the load balancer
NOT_COUNTED = (503,)
# Webhook intake looks at the budget only when its answer is a failure: an accepted delivery makes no Redis
# call (docs/performance/webhook-intake.md), and an authenticated delivery is never cut off (issue 15). A failing answer
# from an address past its budget still becomes the 429, so a flood is refused exactly as on other routes.
CHECKED_ON_FAILURE = ("/webhook/yclients",)
# Endpoints that look at the budget in their own first Redis call, with their own per-address limit
# (RateLimiter.allow_within_budget, one round trip instead of two): a spent budget raises BudgetSpent there,
# answered below with the same 429, before any other work.
CHECKED_BY_ENDPOINT = ("marketplace_redirect.yclients_redirect",)


def counts(status: int) -> bool:
    return (status >= 500 and status not in NOT_COUNTED) or status == 413


def _key() -> str:
    template, _, _ = BUDGET
    return template.format(ip=client_ip())


def install(app: Flask) -> None:
    def _refusal(window: int):
        if wants_json():
            response = jsonify(error="rate_limited", message="too many failed requests from this address")
            response.status_code = 429
        else:
            body, _, headers = error_page(429, "Слишком много попыток",
                                          "С вашего адреса пришло слишком много ошибочных запросов. "
                                          "Подождите минуту и попробуйте снова.")
            response = app.response_class(body, 429, headers)
        response.headers["Retry-After"] = str(window)
        return response

    @app.before_request
    def _refuse_exhausted_address():
        if request.path.startswith(EXEMPT) or request.path.startswith(CHECKED_ON_FAILURE) \
                or request.endpoint in CHECKED_BY_ENDPOINT:
            return None
        _, limit, window = BUDGET
        try:
            blocked = limiter().blocked(_key(), limit, window)
        except Exception as exc:  # Redis down: the request goes on (and meets the usual 503 if it needs Redis)
            logger.warning("error budget unavailable: %s", type(exc).__name__)
            return None
        return _refusal(window) if blocked else None

    @app.errorhandler(BudgetSpent)
    def _refuse_spent_budget(_exc):
        return _refusal(BUDGET[2])

    @app.after_request
    def _count_failed_answer(response):
        if request.path.startswith(EXEMPT):
            return response
        late = request.path.startswith(CHECKED_ON_FAILURE) and response.status_code >= 400
        if not counts(response.status_code) and not late:
            return response
        _, limit, window = BUDGET
        try:
            if counts(response.status_code):  # a refused hit means the budget was spent before this answer
                blocked = limiter().hit(_key(), limit, window) > 0
            else:
                blocked = limiter().blocked(_key(), limit, window)
        except Exception as exc:
            logger.warning("error budget unavailable: %s", type(exc).__name__)
            return response
        return _refusal(window) if late and blocked else response
