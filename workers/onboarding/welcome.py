"""The welcome message: exactly once per salon (unique key), to the salon's own number, via the paced sender."""
from __future__ import annotations

import datetime as dt
import logging

from dramatiq.errors import Retry
from peewee import IntegrityError

from models import salon as S
from models.db import utcnow
from models.outbound import PENDING, SENT, OutboundMessage
from models.salon import Salon
from models.timeline import record
from workers.onboarding.completion import maybe_complete, welcome_key
from workers.sync.company import ensure_company

logger = logging.getLogger("aiadmin.onboarding")

STALE_PENDING = dt.timedelta(seconds=60)  # a pending row nobody handed to the sender for this long


def welcome_text(salon_title: str, phone: str) -> str:
    title = salon_title.strip() or "ваш салон"
    return (f"🎉 Поздравляем! AI Admin подключён к салону «{title}».\n\n"
            "Я готов помогать вашим клиентам:\n"
            "✅ Записывать на услуги\n"
            "✅ Отвечать на вопросы\n"
            "✅ Напоминать о визитах\n\n"
            "Для теста отправьте мне сообщение:\n"
            "«Хочу записаться на стрижку»\n\n"
            f"📱 Ваш номер для клиентов: +{phone}")


def send_welcome(salon_id: int, deps) -> int | None:
    """Create the once-only row and enqueue `send_whatsapp_text(id)`; returns the row id (None if skipped)."""
    salon = Salon.get_or_none(Salon.salon_id == salon_id)
    if salon is None or salon.state != S.ACTIVE:
        logger.info("welcome for salon %s skipped (state %s)", salon_id, salon and salon.state)
        return None
    digits = "".join(ch for ch in salon.whatsapp_phone if ch.isdigit())
    if not digits:
        raise ValueError(f"salon {salon_id} has no WhatsApp phone stored")
    key = welcome_key(salon_id)
    if not OutboundMessage.select().where(OutboundMessage.key == key).exists():
        # The welcome goes out alongside the first sync, so the company card may not be stored yet: fetch it
        # now so the text names the salon as YCLIENTS does, not the placeholder «Салон N» (issue 15).

        if ensure_company(salon_id, deps) is not None:
            salon = Salon.get(Salon.salon_id == salon_id)
    inserted = False
    try:
        with deps.database.atomic():
            row = OutboundMessage.create(salon_id=salon_id, key=key, chat_id=f"{digits}@c.us",
                                         text=welcome_text(salon.title, digits), notify_actor="on_welcome_finished")
            inserted = True
    except IntegrityError:  # the unique key: someone already created it
        row = OutboundMessage.get(OutboundMessage.key == key)
    if inserted:
        record(salon_id, "welcome_queued", "worker", outbound_id=row.id)
        deps.jobs.send_whatsapp_text(row.id)
        return row.id
    if row.status == PENDING:
        # Created but perhaps never handed over (a crash between commit and enqueue). Hand it over once it is
        # clearly stale; until then come back later rather than race the creator into a double send.
        if utcnow() - row.created_at >= STALE_PENDING:
            deps.jobs.send_whatsapp_text(row.id)
            return row.id
        raise Retry(delay=int(STALE_PENDING.total_seconds() * 1000))
    return row.id


def on_welcome_finished(outbound_id: int, deps) -> None:
    row = OutboundMessage.get_or_none(OutboundMessage.id == outbound_id)
    if row is None:
        return
    sent = row.status == SENT
    with deps.database.atomic():
        if sent:
            Salon.update(welcome_sent_at=row.sent_at or utcnow(), updated_at=utcnow()).where(
                (Salon.salon_id == row.salon_id) & (Salon.welcome_sent_at.is_null())).execute()
        record(row.salon_id, "welcome_sent" if sent else "welcome_failed", "worker", outbound_id=row.id,
               status=row.status)
    deps.live.publish(row.salon_id, "welcome", {"status": "sent" if sent else "failed",
                                                "code": "welcome_sent" if sent else "welcome_failed"})
    maybe_complete(row.salon_id, deps)
