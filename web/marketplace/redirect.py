"""`GET /auth/yclients/redirect`: verify the signed install, record every branch, hand over a one-time link.

Order (reference §1.6): configuration, signature (no bypass: user_data and its sign are required),
input, one-time use of the signature, then the database write, and only after the commit the jobs.
No call to YCLIENTS or WhatsApp happens on this request.
"""
from __future__ import annotations

import hashlib
import logging

from flask import Blueprint, redirect, request

from web.context import ctx
from web.errors import error_page
from web.marketplace import messages, registration, session, tokens, userdata, validation
from web.marketplace.ratelimit import limiter
from runtime import metrics

logger = logging.getLogger("aiadmin.web.redirect")
blueprint = Blueprint("marketplace_redirect", __name__)

PLACEHOLDER_TOKENS = ("", "test_token_waiting_for_real")
# A signature is accepted once per this many seconds (S-3: salon_id is outside the signed payload,
# so a leaked redirect URL must not open the onboarding page again). The same browser, still holding
# its session for these salons, is simply sent back to its page.
SIGNATURE_TTL = 3600
_SIGNATURE_PREFIX = "aiadmin:redirect:sign:"
# An owner presses «Подключить» a few times at most; a salon chain behind one NAT a few dozen.
REDIRECT_LIMITS = (("redirect:ip:{ip}", 30, 600),)


@blueprint.before_request
def _connect():
    ctx().database.connect(reuse_if_open=True)  # closed by the app's teardown


def refuse(reason: str):
    status, title, message = messages.REDIRECT_ERRORS[reason]
    metrics.redirect(reason)
    return error_page(status, title, message)


@blueprint.get("/auth/yclients/redirect")
def yclients_redirect():
    c = ctx()
    partner_token = c.settings.yclients_partner_token
    if partner_token in PLACEHOLDER_TOKENS:
        logger.error("registration redirect refused: YCLIENTS_PARTNER_TOKEN is not configured")
        return refuse("not_configured")

    # Per address, before any work: a flood (forged or replayed links) costs one Redis call per request.
    wait = limiter().allow(*[(key.format(ip=session.client_ip()), limit, window)
                             for key, limit, window in REDIRECT_LIMITS])
    if wait:
        response = refuse("rate_limited")
        return response[0], response[1], {**response[2], "Retry-After": str(max(1, round(wait)))}

    raw_user_data = request.args.get("user_data", "")
    signature = request.args.get("user_data_sign", "")
    if not raw_user_data or not signature:
        logger.warning("registration redirect without user_data or signature")
        return refuse("missing_signature")
    try:
        raw_json = userdata.decode(raw_user_data)
    except userdata.UserDataError:
        logger.warning("registration redirect with undecodable user_data")
        return refuse("bad_signature")
    if not userdata.signature_valid(raw_json, signature, partner_token):
        logger.warning("registration redirect with an invalid signature")
        return refuse("bad_signature")

    try:
        salon_ids = validation.salon_ids_from_query(request.args)
        who = validation.installer(userdata.parse(raw_json))
    except validation.InvalidInput as exc:
        return refuse(exc.reason)
    except userdata.UserDataError:
        return refuse("bad_user_data")

    sign_key = _SIGNATURE_PREFIX + hashlib.sha256(signature.strip().lower().encode()).hexdigest()
    if not c.redis.set(sign_key, ",".join(map(str, salon_ids)), nx=True, ex=SIGNATURE_TTL):
        returning = session.current_or_none()
        if returning and set(salon_ids) <= set(returning.salon_ids):
            return _no_store(redirect("/marketplace/onboarding", code=302))
        logger.warning("registration redirect replayed for salons %s", salon_ids)
        return refuse("replayed")

    try:
        results = registration.register(c.database, salon_ids, who)
        for result in results:
            if result.needs_session:
                # A re-install starts from a clean live state: no stale QR or "complete" from last time.
                c.live.clear(result.salon_id, "qr", "pairing_code", "whatsapp", "activation", "sync", "welcome",
                             "complete", "error")
                c.live.set_state(result.salon_id, result.state)
        # After the commit: a worker never looks for a salon that is not there yet.
        for result in results:
            if result.needs_session:
                c.jobs.start_whatsapp_session(result.salon_id)
    except Exception:
        c.redis.delete(sign_key)  # nothing was recorded (or not fully): let the owner press the button again
        raise

    logger.info("registration recorded for salons %s (%s)", salon_ids,
                ", ".join(f"{r.previous_state}->{r.state}" for r in results))
    link = tokens.issue(c.settings.jwt_secret, tokens.LINK, salon_ids, who.user_id)
    metrics.redirect("ok")
    return _no_store(redirect(f"/marketplace/onboarding?token={link}", code=302))


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response
