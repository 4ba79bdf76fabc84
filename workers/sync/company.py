"""The salon's company card: fetched from YCLIENTS, stored (models/company.py), and used for the salon's
title and timezone. Stored on every full sync, refreshed weekly by the clock, and taken from the install check's
read of it (kept in Redis a day) or fetched on demand when something needs it before the first sync (the welcome)."""
from __future__ import annotations

import datetime as dt
import json
import logging

from models import salon as S
from models.company import DEFAULT_TIMEZONE, Company
from models.db import utcnow
from models.salon import Salon
from models.timeline import record
from runtime.yclients.errors import PermanentError
from runtime.yclients.ratelimit import BudgetWait
from workers.sync.mapping import zone

logger = logging.getLogger("aiadmin.sync.company")

REFRESH_AFTER = dt.timedelta(days=7)
# The card read by the redirect's install check, kept until the welcome stores it (an onboarding is long done
# within a day; after that the welcome fetches it again).
CARD_KEY = "aiadmin:company-card:{salon_id}"
CARD_TTL_SECONDS = 86400


def _text(value, limit: int) -> str:
    return ("" if value is None else str(value)).replace("\x00", "")[:limit]


def company_fields(data: dict) -> dict:
    """The typed columns of a YCLIENTS company object (`GET /company/{id}`)."""
    timezone = _text(data.get("timezone_name") or "", 64)
    if not timezone or zone(timezone) is dt.timezone.utc and timezone.upper() != "UTC":
        timezone = DEFAULT_TIMEZONE  # YCLIENTS' own default; an unknown name must not shift every time
    return {"title": _text(data.get("title") or data.get("public_title"), 255),
            "phone": _text(data.get("phone"), 64), "email": _text(data.get("email"), 255),
            "address": _text(data.get("address"), 512), "city": _text(data.get("city"), 255),
            "timezone": timezone, "working_hours": data.get("schedule") or {},
            "currency": _text(data.get("currency_short_title") or data.get("currency"), 16),
            "data": data}


def store_company(salon_id: int, data: dict, database) -> Company:
    """Upsert the card and name the salon after it (the placeholder «Салон N» must not outlive it)."""
    fields = {**company_fields(data), "synced_at": utcnow()}
    with database.atomic():
        (Company.insert(salon_id=salon_id, **fields)
         .on_conflict(conflict_target=[Company.salon_id], preserve=list(Company._meta.sorted_fields[1:]))
         .execute())
        if fields["title"]:
            renamed = Salon.update(title=fields["title"], updated_at=utcnow()).where(
                (Salon.salon_id == salon_id) & (Salon.title != fields["title"])).execute()
            if renamed:
                record(salon_id, "company_updated", "worker", title=fields["title"], timezone=fields["timezone"])
    return Company.get_by_id(salon_id)


def refresh_company(salon_id: int, deps) -> Company:
    """Fetch and store the card now (YCLIENTS errors propagate: transient ones are retried)."""
    return store_company(salon_id, deps.api.company(salon_id), deps.database)


def remember_card(redis_client, salon_id: int, data: dict) -> None:
    """Keep the card the install check just read (before the salon exists), for ensure_company. `redis_client` may
    be a pipeline: the check sends it with the verdict."""
    redis_client.set(CARD_KEY.format(salon_id=int(salon_id)), json.dumps(data, ensure_ascii=False),
                     ex=CARD_TTL_SECONDS)


def remembered_card(redis_client, salon_id: int) -> dict | None:
    raw = redis_client.get(CARD_KEY.format(salon_id=int(salon_id)))
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def ensure_company(salon_id: int, deps) -> Company | None:
    """The stored card; else the one the install check read (no YCLIENTS call); else fetched now (deps.api).
    A refusal (4xx) leaves None: callers fall back."""
    row = Company.get_or_none(Company.salon_id == salon_id)
    if row is not None:
        return row
    card = remembered_card(deps.redis, salon_id)
    if card is not None:
        return store_company(salon_id, card, deps.database)
    try:
        return refresh_company(salon_id, deps)
    except PermanentError as exc:
        logger.warning("salon %s: company card unavailable (%s %s)", salon_id, exc.status, exc.message)
        return None
    except BudgetWait:  # not worth waiting for: the stored title (confirmed by the install check) will do
        logger.info("salon %s: company card not fetched now (YCLIENTS budget busy)", salon_id)
        return None


def salon_zone(salon_id: int) -> dt.tzinfo:
    """The salon's timezone for offset-less YCLIENTS times (YCLIENTS' default until the card is stored)."""
    row = Company.select(Company.timezone).where(Company.salon_id == salon_id).first()
    return zone(row.timezone if row else DEFAULT_TIMEZONE)


def salon_today(salon_id: int, now: dt.datetime | None = None) -> dt.date:
    """Today in the salon's timezone (windows of records and schedules are salon-local dates)."""
    moment = (now or utcnow()).replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(salon_zone(salon_id)).date()


def stale_companies(now: dt.datetime | None = None, max_age: dt.timedelta = REFRESH_AFTER) -> list[int]:
    """Active salons whose card is missing or older than `max_age` (the weekly refresh)."""
    cutoff = (now or utcnow()) - max_age
    fresh = {c.salon_id for c in Company.select(Company.salon_id).where(Company.synced_at >= cutoff)}
    return [s.salon_id for s in Salon.select(Salon.salon_id).where(Salon.state == S.ACTIVE).order_by(Salon.salon_id)
            if s.salon_id not in fresh]
