"""`GET /auth/yclients/redirect`: verify the signed install, have YCLIENTS confirm every branch, hand over a link.

Order of the answers (reference §1.6, S-3): configuration, per-address limit, signature (no bypass: user_data
and its sign are required), input, then the install check: YCLIENTS' application status for each branch, asked
by a worker (verification.py; this request waits a few seconds or shows a self-reloading "checking" page). The
signature and input are checked in memory before the limit is hit, so that a signed request's limit is hit in the
check gate's own Redis call; a limited request is still refused first, whatever its signature. Only then the
database write (registration.py), and only after the commit the jobs. The same signed link works again from any
browser for as long as YCLIENTS confirms the branch: there is no one-use rule (user_data has no nonce, so every
press by the same user brings the same signature).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Blueprint, redirect, request
from redis import RedisError

from models import install_check as ic
from models import session_generation
from runtime import metrics
from web.context import ctx
from web.error_page import error_page
from web.marketplace import links, messages, registration, session, tokens, userdata, validation, verification
from web.marketplace.ratelimit import limiter

logger = logging.getLogger("aiadmin.web.redirect")
blueprint = Blueprint("marketplace_redirect", __name__)

PLACEHOLDER_TOKENS = ("", "test_token_waiting_for_real")
# Requests per address, before any work: a flood (forged or replayed links) costs one Redis call each.
# The "checking" page reloads every 2 s for a few seconds, so an owner's press may be several requests.
REDIRECT_LIMITS = (("redirect:ip:{ip}", 60, 600),)
RETRY_AFTER_UNAVAILABLE = 60
# The live snapshot's slots a (re)install drops: no stale QR or "complete" from last time.
RESTART_CLEARS = ("qr", "pairing_code", "whatsapp", "activation", "sync", "welcome", "complete", "error")


@blueprint.before_request
def _connect():
    ctx().database.connect(reuse_if_open=True)  # closed by the app's teardown


def refuse(reason: str, retry_after: float | None = None):
    status, title, message = messages.REDIRECT_ERRORS[reason]
    metrics.redirect(reason)
    # The way back is the marketplace this install came from: the real one, or the sandbox under `make run`.
    body, code, headers = error_page(status, title, message, back_url=links.marketplace_url(ctx().settings))
    if retry_after is not None:
        headers = {**headers, "Retry-After": str(max(1, round(retry_after)))}
    return body, code, headers


@blueprint.get("/auth/yclients/redirect")
def yclients_redirect():
    c = ctx()
    ip = session.client_ip()
    # The app's error budget is looked at here, in the same Redis call as the per-address limit (web.error_budget
    # leaves this route to it): the install check's gate for a signed request, allow_within_budget for a refused
    # one; a spent budget raises its 429 before anything else is answered, as on every route.
    partner_token = c.settings.yclients_partner_token
    if partner_token in PLACEHOLDER_TOKENS:
        try:
            limiter().allow_within_budget(ip)  # the budget alone: a misconfigured deployment counts no request
        except RedisError:
            pass  # as the app's hook: without Redis the budget is not enforced, and this answer needs none
        logger.error("registration redirect refused: YCLIENTS_PARTNER_TOKEN is not configured")
        return refuse("not_configured")

    rules = [(key.format(ip=ip), limit, window) for key, limit, window in REDIRECT_LIMITS]
    signed = _signed_input(partner_token)
    if isinstance(signed, _Refused):
        # Refused requests count against the address's limit like any other, and its refusal goes first.
        wait = limiter().allow_within_budget(ip, *rules)
        if wait:
            return refuse("rate_limited", wait)
        if signed.log:
            logger.warning(signed.log)
        return refuse(signed.reason)
    salon_ids, who, signature = signed

    check = ic.check_id(signature, salon_ids)
    # The error budget and the address's limit are looked at in the gate's own script, before anything else.
    outcome = verification.obtain(check, salon_ids, who.salon_name, signature, ip, entry_limits=rules)
    if outcome.entry_limited:
        return refuse("rate_limited", outcome.entry_limited)
    if outcome.limited:
        logger.warning("install checks limited for branches %s", salon_ids)
        return refuse("check_rate_limited", outcome.limited)
    if outcome.checking:
        metrics.redirect("checking")
        return verification.checking_page(*messages.CHECKING)
    verdict = outcome.verdict
    if verdict.status == ic.UNAVAILABLE:
        body, code, headers = refuse("check_unavailable", RETRY_AFTER_UNAVAILABLE)
        return body, code, {**headers, "Refresh": str(RETRY_AFTER_UNAVAILABLE)}  # tries again by itself
    if verdict.status == ic.MISMATCH:
        # For support: which branch and which YCLIENTS user (ids only, no names or phones).
        logger.warning("registration refused: salon_name does not match branch %s (YCLIENTS user %s)",
                       salon_ids[0], who.user_id)
        return refuse("salon_mismatch")
    if not verdict.confirmed:
        logger.warning("registration refused: YCLIENTS does not confirm branch %s (%s)", salon_ids[0], verdict.reason)
        return refuse("not_confirmed")

    results = registration.register(c.database, verdict.branches, who)
    if not results:
        logger.warning("registration refused: no confirmed branch of %s is this user's (YCLIENTS user %s)",
                       salon_ids, who.user_id)
        return refuse("not_confirmed")
    # After the commit: a worker never looks for a salon that is not there yet.
    for result in results:
        if result.bumped:
            session_generation.announce(c.redis, result.salon_id, result.generation)
    # A (re)install starts from a clean live state (no stale QR or "complete" from last time), reset before its
    # session job is enqueued; both in one Redis round trip.
    c.jobs.start_whatsapp_sessions([r.salon_id for r in results if r.needs_session],
                                   before=[c.live.state_call(r.salon_id, r.state, clear=RESTART_CLEARS)
                                           for r in results if r.restarted])

    logger.info("registration recorded for salons %s (%s)", [r.salon_id for r in results],
                ", ".join(f"{r.previous_state}->{r.state}" for r in results))
    link = tokens.issue(c.settings.jwt_secret, tokens.LINK, [r.salon_id for r in results], who.user_id,
                        generations=[r.generation for r in results])
    metrics.redirect("ok")
    return _no_store(redirect(f"/marketplace/onboarding?token={link}", code=302))


@dataclass(frozen=True)
class _Refused:
    reason: str
    log: str = ""  # a warning for the log, written only when the address's limit lets the refusal through


def _signed_input(partner_token: str):
    """(branch ids, installer, signature) of a signed request, or why it is refused. Decides without Redis, so a
    valid request's address limit can be hit in the install check's own script (one round trip, not two); the
    price is an HMAC per request even past the limit, microseconds against the Redis call every request makes."""
    raw_user_data = request.args.get("user_data", "")
    signature = request.args.get("user_data_sign", "")
    if not raw_user_data or not signature:
        return _Refused("missing_signature", "registration redirect without user_data or signature")
    try:
        raw_json = userdata.decode(raw_user_data)
    except userdata.UserDataError:
        return _Refused("bad_signature", "registration redirect with undecodable user_data")
    if not userdata.signature_valid(raw_json, signature, partner_token):
        return _Refused("bad_signature", "registration redirect with an invalid signature")
    try:
        return validation.salon_ids_from_query(request.args), validation.installer(userdata.parse(raw_json)), signature
    except validation.InvalidInput as exc:
        return _Refused(exc.reason)
    except userdata.UserDataError:
        return _Refused("bad_user_data")


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response
