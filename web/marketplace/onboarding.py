"""The onboarding page and its small API: token exchange, status (polling), pairing code, restart linking."""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify, make_response, redirect, render_template, request

from models import salon as S
from models.salon import Salon
from models.sync_run import FAILED, SyncRun
from runtime import json_limits
from web.context import ctx
from web.error_page import error_page
from web.marketplace import (compression, links, messages, presentation, security, session, status, tokens,
                             validation)
from web.marketplace.ratelimit import limiter

logger = logging.getLogger("aiadmin.web.onboarding")
blueprint = Blueprint("marketplace_onboarding", __name__)

# (key template, limit, window seconds). The pairing request also has a short in-progress lock.
PAIRING_LIMITS = (("pairing:salon:{salon}", 5, 600), ("pairing:ip:{ip}", 10, 600))
PAIRING_LOCK_SECONDS = 15
RESTART_LIMITS = (("restart:salon:{salon}", 1, 30), ("restart:salon-hour:{salon}", 6, 3600),
                  ("restart:ip:{ip}", 10, 600))
STATUS_LIMITS = (("status:ip:{ip}", 120, 60),)
# «Повторить сейчас» after a failure: one attempt per salon a minute, a few an hour, bounded per address.
RETRY_LIMITS = (("retry:salon:{salon}", 1, 60), ("retry:salon-hour:{salon}", 6, 3600), ("retry:ip:{ip}", 10, 600))
MAX_COMMAND_BYTES = 4096  # {"phone": …, "salon_id": …} is a few dozen bytes


@blueprint.before_request
def _connect():
    ctx().database.connect(reuse_if_open=True)  # closed by the app's teardown


def _token_page(reason: str):
    lang = messages.language()
    status_code, title, message = messages.token_error(reason, lang)
    back = messages.BACK_TO_MARKETPLACE[1 if lang == "en" else 0]
    return error_page(status_code, title, message, back_url=links.marketplace_url(ctx().settings), back_label=back,
                      lang=lang)


def _api_error(code: str, status_code: int, **extra):
    response = jsonify({**messages.api_error(code), **extra})
    response.status_code = status_code
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/marketplace/onboarding")
def page():
    c = ctx()
    link = request.args.get("token")
    if link is not None:
        return _exchange(link)
    try:
        claims = session.current()
    except tokens.TokenError as exc:
        return _token_page("expired" if exc.reason == "expired" else "missing" if exc.reason == "missing" else "invalid")
    if session.ended(claims):
        return _token_page("ended")
    salons = {s.salon_id: s for s in Salon.select().where(Salon.salon_id.in_(list(claims.salon_ids)))}
    branches = [{"salon_id": sid, "title": salons[sid].title if sid in salons else f"Салон {sid}"}
                for sid in claims.salon_ids]
    lang = messages.language()
    boot = {"lang": lang, "branches": branches, "text": messages.PAGE[lang], "ws_path": "/marketplace/ws",
            "status_path": "/marketplace/status", "pairing_path": "/marketplace/pairing-code",
            "restart_path": "/marketplace/restart-linking", "retry_path": "/marketplace/retry",
            "marketplace_url": links.marketplace_url(c.settings), "yclients_url": links.yclients_url(c.settings),
            "support": c.settings.support_contact, "support_href": links.support_href(c.settings.support_contact)}
    response = make_response(render_template("onboarding.html", boot=boot, t=messages.PAGE[lang], lang=lang,
                                             branches=branches, links=boot))
    response.headers["Content-Security-Policy"] = security.page_csp()
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Language"] = lang
    response.vary.add("Accept-Language")
    return response


def _exchange(link: str):
    """One-time link token -> session cookie, then the clean URL (the token leaves the address bar)."""
    c = ctx()
    try:
        claims = tokens.verify(c.settings.jwt_secret, link, tokens.LINK)
    except tokens.TokenError as exc:
        return _token_page("invalid" if exc.reason == "wrong_type" else exc.reason)
    if session.ended(claims):
        return _token_page("ended")
    if not tokens.claim_once(c.redis, claims):
        returning = session.current_or_none()
        if returning and set(claims.salon_ids) <= set(returning.salon_ids):
            return _clean_redirect()  # the same browser reloading: it already has its session
        logger.warning("onboarding link reused for salons %s", claims.salon_ids)
        return _token_page("used")
    session_token = tokens.issue(c.settings.jwt_secret, tokens.SESSION, claims.salon_ids, claims.installer_id,
                                 generations=[claims.generation(s) for s in claims.salon_ids])
    response = _clean_redirect()
    session.set_cookie(response, session_token, secure=c.settings.is_production)
    return response


def _clean_redirect():
    response = redirect("/marketplace/onboarding", code=302)
    response.headers["Cache-Control"] = "no-store"
    return response


def _authorised_salon(claims: tokens.Claims, requested) -> int | None:
    """The salon a request is about: one of the token's salons (the first by default), never another."""
    if requested in (None, ""):
        return claims.salon_ids[0]
    try:
        salon_id = validation.salon_id(requested)
    except validation.InvalidInput:
        return None
    return salon_id if claims.allows(salon_id) else None


def _session_or_error():
    try:
        claims = session.current()
    except tokens.TokenError as exc:
        return None, _api_error("token_expired" if exc.reason == "expired" else "unauthorized", 401)
    if session.ended(claims):
        return None, _api_error("session_ended", 401)
    return claims, None


@blueprint.get("/marketplace/status")
def status_json():
    claims, error = _session_or_error()
    if error:
        return error
    salon_id = _authorised_salon(claims, request.args.get("salon_id"))
    if salon_id is None:
        return _api_error("forbidden_salon", 403)
    wait = limiter().allow(*_rules(STATUS_LIMITS, salon_id))
    if wait:
        return _api_error("rate_limited", 429, retry_after=wait)
    c = ctx()
    reader = presentation.Reader.of(c.settings, messages.language())
    snap = presentation.present_snapshot(status.snapshot(c.live, c.redis, salon_id), reader)
    return compression.conditional_json(snap)


def _json_body() -> dict | None:
    if not request.is_json:  # also what makes a cross-site form post impossible (no CORS preflight pass)
        return None
    try:  # bounded size and depth: 1,000 nested `[` were a RecursionError (500), which silent=True lets through
        return json_limits.loads_object(request.get_data(cache=False), max_bytes=MAX_COMMAND_BYTES)
    except json_limits.BadJson:
        return None


def _rules(templates, salon_id: int):
    ip = session.client_ip()
    return [(key.format(salon=salon_id, ip=ip), limit, window) for key, limit, window in templates]


def _command_target():
    """(salon_id, body, None) for a JSON command from the session's page, or (None, None, error response)."""
    claims, error = _session_or_error()
    if error:
        return None, None, error
    body = _json_body()
    if body is None:
        return None, None, _api_error("bad_request", 400)
    salon_id = _authorised_salon(claims, body.get("salon_id"))
    if salon_id is None:
        return None, None, _api_error("forbidden_salon", 403)
    return salon_id, body, None


@blueprint.post("/marketplace/pairing-code")
def pairing_code():
    salon_id, body, error = _command_target()
    if error:
        return error
    phone = validation.phone(body.get("phone"))
    if phone is None:
        return _api_error("invalid_phone", 400)
    c = ctx()
    if not c.redis.set(f"aiadmin:web:pairing-lock:{salon_id}", "1", nx=True, ex=PAIRING_LOCK_SECONDS):
        return _api_error("request_in_progress", 409, retry_after=PAIRING_LOCK_SECONDS)
    wait = limiter().allow(*_rules(PAIRING_LIMITS, salon_id))
    if wait:
        return _api_error("rate_limited", 429, retry_after=wait)
    c.jobs.request_pairing_code(salon_id, phone)
    return jsonify(status="requested", salon_id=salon_id), 202


@blueprint.post("/marketplace/restart-linking")
def restart_linking():
    salon_id, _, error = _command_target()
    if error:
        return error
    wait = limiter().allow(*_rules(RESTART_LIMITS, salon_id))
    if wait:
        return _api_error("rate_limited", 429, retry_after=wait)
    ctx().jobs.restart_linking(salon_id)
    return jsonify(status="requested", salon_id=salon_id), 202


def _retry_target(salon_id: int) -> str | None:
    """What «Повторить сейчас» re-runs for this salon now: a failed activation or a failed sync, else nothing."""
    salon = Salon.get_or_none(Salon.salon_id == salon_id)
    if salon is None:
        return None
    live_data = ctx().live.snapshot(salon_id)["data"] or {}
    failed_attempt = (live_data.get("activation") or {}).get("status") == "failed"  # a retry is scheduled
    if salon.state == S.ACTIVATION_FAILED or (salon.state == S.ACTIVATING and failed_attempt):
        return "activate_integration"
    if salon.state == S.ACTIVE:
        live_sync = live_data.get("sync") or {}
        last = SyncRun.select().where(SyncRun.salon_id == salon_id).order_by(SyncRun.id.desc()).first()
        if live_sync.get("status") == "failed" or (last is not None and last.status == FAILED):
            return "sync_salon"
    return None


@blueprint.post("/marketplace/retry")
def retry_now():
    """The owner's «Повторить сейчас» after a failure (rate-limited; the actors are idempotent)."""
    salon_id, _, error = _command_target()
    if error:
        return error
    target = _retry_target(salon_id)
    if target is None:
        return _api_error("nothing_to_retry", 409)
    wait = limiter().allow(*_rules(RETRY_LIMITS, salon_id))
    if wait:
        return _api_error("rate_limited", 429, retry_after=wait)
    if target == "activate_integration":
        ctx().jobs.activate_integration(salon_id)
    else:
        ctx().jobs.sync_salon(salon_id, "full")
    logger.info("salon %s: the owner asked to retry %s", salon_id, target)
    return jsonify(status="requested", salon_id=salon_id, message=messages.page_text("retry_requested")), 202
