"""Ask YCLIENTS whether a redirect's branches really are being installed (or are active) for our application.

The redirect's `salon_id` is not signed (reference S-3), so the application-status method is the source
of truth: a branch is admitted only when YCLIENTS reports it `pending` (a new install or a reinstall)
or `active` (a revisit). The first branch is the one the owner pressed «Подключить» in, and the signed
`salon_name` must match its company title when YCLIENTS gives one. A first branch that fails either
check ends the check at once: a forged id costs at most two YCLIENTS calls.
"""
from __future__ import annotations

import logging
import re
import time
import unicodedata

from models import install_check as ic
from runtime.yclients.errors import PermanentError, YclientsError
from runtime.yclients.ratelimit import RateLimitTimeout
from workers.sync.company import remember_card

logger = logging.getLogger("aiadmin.install_check")

_QUOTES = re.compile(r"[\"'`«»„“”‘’‚‹›]")
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")


def normalise_title(text: str | None) -> str:
    """Case, ё/е, quotes, dashes and whitespace do not make two salon names different."""
    value = unicodedata.normalize("NFKC", str(text or "")).casefold().replace("ё", "е")
    value = _DASHES.sub("-", _QUOTES.sub("", value))
    return " ".join(value.split())


def titles_match(signed_name: str, title: str | None) -> bool:
    return title is None or normalise_title(signed_name) == normalise_title(title)


def _card(api, salon_id: int) -> dict | None:
    """The branch's company card, or None when YCLIENTS does not give it (4xx)."""
    try:
        data = api.company(salon_id)
    except PermanentError:
        return None
    return data if isinstance(data, dict) else None


def decide(api, salon_ids: list[int], salon_name: str, now=time.time, cards: dict | None = None) -> ic.Verdict:
    """The verdict for one redirect; raises YclientsError/RateLimitTimeout when YCLIENTS cannot say.
    `cards` receives the first branch's company card (kept for the welcome: workers/sync/company.py)."""
    first = salon_ids[0]
    status = api.installation_status(first)
    if status not in ic.ADMITTED:
        return ic.Verdict(ic.REFUSED, reason=f"branch {first}: {status}", checked_at=now())
    card = _card(api, first)
    title = str(card.get("title")) if card and card.get("title") else None
    if card and cards is not None:
        cards[first] = card
    if not titles_match(salon_name, title):
        return ic.Verdict(ic.MISMATCH, reason=f"branch {first}: salon_name does not match the company title",
                          checked_at=now())
    branches = [{"salon_id": first, "status": status, "title": title}]
    for salon_id in salon_ids[1:]:
        other = api.installation_status(salon_id)
        if other in ic.ADMITTED:
            branches.append({"salon_id": salon_id, "status": other, "title": None})
        else:
            logger.warning("install check: branch %s left out, YCLIENTS says %s", salon_id, other)
    return ic.Verdict(ic.CONFIRMED, branches=branches, checked_at=now())


def check_install(api, redis_client, check: str, now=time.time) -> ic.Verdict | None:
    """Answer one stored request (idempotent: an existing verdict is kept). None when the request expired."""
    request = ic.load_request(redis_client, check)
    if request is None or not request.salon_ids:
        return None
    existing = ic.read_verdict(redis_client, check)
    if existing is not None:
        return existing
    cards: dict = {}
    try:
        verdict = decide(api, request.salon_ids, request.salon_name, now, cards)
    except (YclientsError, RateLimitTimeout) as exc:
        # The owner is told to try again in a minute; nothing is written anywhere.
        logger.warning("install check for branches %s: YCLIENTS cannot say (%s)", request.salon_ids, exc)
        verdict = ic.Verdict(ic.UNAVAILABLE, reason=type(exc).__name__, checked_at=now())
    if verdict.status in (ic.REFUSED, ic.MISMATCH):
        logger.warning("install check refused for branches %s: %s", request.salon_ids, verdict.reason)
    if verdict.status == ic.CONFIRMED:
        for salon_id, card in cards.items():
            # The welcome names the salon by this card; keeping it saves the welcome a YCLIENTS call that
            # could wait behind a busy budget (issue 17: welcome <= 5 s after activation).
            remember_card(redis_client, salon_id, card)
    ic.write_verdict(redis_client, check, verdict)
    return verdict
