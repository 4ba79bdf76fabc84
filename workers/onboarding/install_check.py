"""Ask YCLIENTS whether a redirect's branches really are being installed (or are active) for our application.

The redirect's `salon_id` is not signed (reference S-3), so the application-status method is the source
of truth: a branch is admitted only when YCLIENTS reports it `pending` (a new install or a reinstall)
or `active` (a revisit). The first branch is the one the owner pressed «Подключить» in, and the signed
`salon_name` must match its company title when YCLIENTS gives one. A first branch that fails either
check ends the check at once: a forged id costs at most two YCLIENTS calls.
"""
from __future__ import annotations

import json
import logging
import math
import re
import time
import unicodedata

from models import install_check as ic
from runtime.yclients.errors import PermanentError, YclientsError
from runtime.yclients.ratelimit import BudgetWait, RateLimitTimeout, prepaid, waiting_as
from workers.sync.company import remember_card

logger = logging.getLogger("aiadmin.install_check")

_QUOTES = re.compile(r"[\"'`«»„“”‘’‚‹›]")
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")


HOLD_SECONDS = 1.0
ANSWERS_TTL = 300


class CheckDeferred(Exception):
    """The check has to wait for YCLIENTS budget longer than a worker thread may hold: re-enqueue it in `delay_ms`
    (the request and the owner's checking page stay; answers already had are kept)."""

    def __init__(self, delay_ms: int):
        super().__init__(f"install check waits {delay_ms} ms for YCLIENTS budget")
        self.delay_ms = delay_ms


class Remembered:
    """The check's YCLIENTS answers so far (application status, company card). `known` comes with the request
    (ic.load: empty unless an earlier message of this check was deferred); they are written back only when the
    check is deferred (`save`), so an undeferred check costs no extra round trips per YCLIENTS call."""

    def __init__(self, api, redis_client, check: str, known: dict):
        self.api, self.redis, self.key = api, redis_client, ic.answers_key(check)
        self.known = known
        self.fresh: dict = {}

    def _remember(self, field: str, ask):
        if field in self.known:
            return json.loads(self.known[field])
        value = ask()
        self.fresh[field] = value  # encoded only if the check is deferred (save)
        return value

    def save(self) -> None:
        """Keep what was learnt for the next message of a deferred check."""
        if self.fresh:
            with self.redis.pipeline(transaction=False) as pipe:
                pipe.hset(self.key, mapping={field: json.dumps(value, ensure_ascii=False)
                                             for field, value in self.fresh.items()})
                pipe.expire(self.key, ANSWERS_TTL)
                pipe.execute()

    def installation_status(self, salon_id: int) -> str:
        return self._remember(f"status:{int(salon_id)}", lambda: self.api.installation_status(salon_id))

    def company(self, salon_id: int):
        def ask():
            try:
                return {"card": self.api.company(salon_id)}
            except PermanentError as exc:
                return {"refused": exc.status}
        answer = self._remember(f"company:{int(salon_id)}", ask)
        if "refused" in answer:
            raise PermanentError(str(answer["refused"]), status=answer["refused"])
        return answer["card"]


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


def _limiter(api):
    """The shared YCLIENTS limiter behind `api` (YclientsApi -> client), if it has one that can take a slot ahead."""
    limiter = getattr(getattr(api, "client", None), "limiter", None)
    return limiter if hasattr(limiter, "ahead") else None


def check_install(api, redis_client, check: str, now=time.time) -> ic.Verdict | None:
    """Answer one stored request (idempotent: an existing verdict is kept). None when the request expired."""
    caller = f"check:{check}"
    limiter = _limiter(api)
    # The first YCLIENTS call's budget is asked in the same round trip as the request (given back if no call
    # is made): the check reads, calls, calls and writes, with no round trip of its own before the first call.
    slot = limiter.ahead(caller) if limiter else None
    request, existing, known, more = ic.load(redis_client, check, also=slot.queue if slot else None)
    if slot is not None:
        slot.answered(more[0])
    with prepaid(slot):
        if existing is not None:
            return existing
        if request is None or not request.salon_ids:
            return None
        cards: dict = {}
        answers = Remembered(api, redis_client, check, known)
        try:
            # In the line of waiting owners as this check (its place kept across messages); past HOLD_SECONDS of
            # waiting the job is re-enqueued (CheckDeferred) instead of holding a worker thread, and asks again
            # only what it does not know yet (Remembered).
            with waiting_as(caller, max_hold=HOLD_SECONDS):
                verdict = decide(answers, request.salon_ids, request.salon_name, now, cards)
        except BudgetWait as exc:
            answers.save()
            raise CheckDeferred(max(100, math.ceil(exc.seconds * 1000))) from None
        except (YclientsError, RateLimitTimeout) as exc:
            # The owner is told to try again in a minute; nothing is written anywhere.
            logger.warning("install check for branches %s: YCLIENTS cannot say (%s)", request.salon_ids, exc)
            verdict = ic.Verdict(ic.UNAVAILABLE, reason=type(exc).__name__, checked_at=now())
    if verdict.status in (ic.REFUSED, ic.MISMATCH):
        logger.warning("install check refused for branches %s: %s", request.salon_ids, verdict.reason)
    # Every write in one round trip: the verdict (which also drops the answers a deferred check kept) and, when
    # confirmed, the company card, in one transaction: a redirect woken by the verdict finds the card too.
    pipe = redis_client.pipeline()
    ic.queue_verdict(pipe, check, verdict)
    if verdict.status == ic.CONFIRMED:
        for salon_id, card in cards.items():
            # The welcome names the salon by this card; keeping it saves the welcome a YCLIENTS call that
            # could wait behind a busy budget (issue 17: welcome <= 5 s after activation).
            remember_card(pipe, salon_id, card)
    pipe.execute()
    return verdict
