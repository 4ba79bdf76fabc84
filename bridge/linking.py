"""Linking a salon's WhatsApp: session start, QR events, pairing codes, restarts, and the connected transition.

Plain functions over explicit dependencies (`LinkDeps`), called by the relay and by thin actors.
Database writes commit before anything is published or enqueued.
"""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from bridge.qr import render_svg
from models import events
from models import salon as S
from models.db import utcnow
from models.salon import Salon
from models.timeline import record
from runtime.gateway.errors import InvalidPhone, RetryableGatewayError, SessionNotFound, SessionNotReady
from runtime.gateway.naming import session_name
from runtime.gateway.phone import normalise_pairing_code, normalise_phone
from runtime.logs import mask_phone

logger = logging.getLogger("aiadmin.bridge")

FIRST_QR_TTL = 60  # whatsmeow/WAHA: the first code lives 60 s, the next five 20 s each
NEXT_QR_TTL = 20
QR_WINDOW_GAP = 90  # no QR for this long means the next one opens a new linking window
PAIRING_CODE_TTL = 60  # what the page counts down; WhatsApp's own validity is about 60 s
PAIRING_COOLDOWN = 30  # at most one code request per 30 s per salon
PAIRING_LOCK_TTL = 20  # one request in flight per salon; the TTL frees it if a worker dies
RESTARTS_PER_HOUR = 5  # repeated linking attempts get numbers link-blocked (reference §2.8)

MESSAGES = {
    "link_expired": "Время на привязку истекло. Нажмите «Получить новый код», чтобы начать заново.",
    "logged_out": "WhatsApp отключён. Требуется повторное подключение.",
    "session_stopped": "Сессия WhatsApp остановлена. Требуется повторное подключение.",
    "gateway_unavailable": "Сервис WhatsApp временно недоступен. Мы повторим попытку автоматически.",
    "invalid_phone": "Неверный формат номера (10–15 цифр).",
    "too_many_requests": "Код уже запрашивался недавно. Подождите {wait} сек. и попробуйте снова.",
    "request_in_progress": "Запрос уже в обработке. Подождите...",
    "not_awaiting_link": "Сейчас нельзя получить код: дождитесь QR-кода или начните привязку заново.",
    "pairing_failed": "Не удалось получить код. Попробуйте QR-код.",
    "too_many_restarts": "Слишком много попыток привязки за час. WhatsApp может временно запретить привязку "
                         "устройств, поэтому попробуйте позже (через {wait} мин.).",
}

_RESTART_SCRIPT = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('EXPIRE', KEYS[1], window + 60)
return '0'
"""

_RELEASE_SCRIPT = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


def qr_index_key(salon_id: int) -> str:
    return f"aiadmin:wa:qr:{int(salon_id)}"


def qr_payload_key(salon_id: int) -> str:
    return f"aiadmin:wa:qr_payload:{int(salon_id)}"


def pairing_lock_key(salon_id: int) -> str:
    return f"aiadmin:wa:pair:lock:{int(salon_id)}"


def pairing_last_key(salon_id: int) -> str:
    return f"aiadmin:wa:pair:last:{int(salon_id)}"


def restarts_key(salon_id: int) -> str:
    return f"aiadmin:wa:restarts:{int(salon_id)}"


@dataclass
class LinkDeps:
    waha: Any
    redis: Any
    live: Any
    jobs: Any  # runtime.jobs.Jobs (or its StubJobs)
    clock: Callable[[], float] = field(default=time.time)

    @classmethod
    def of(cls, container) -> "LinkDeps":
        """The parts of a process's container (runtime.container.Container) that linking uses."""
        return cls(waha=container.gateway, redis=container.redis, live=container.live, jobs=container.jobs)


def _error(deps: LinkDeps, salon_id: int, code: str, **fmt) -> None:
    deps.live.publish(salon_id, events.ERROR, {"code": code, "message": MESSAGES[code].format(**fmt)})


def _set_wa_state(salon_id: int, state: str, *, unless: tuple[str, ...] = ()) -> bool:
    query = Salon.update(whatsapp_state=state, updated_at=utcnow()).where(Salon.salon_id == salon_id,
                                                                          Salon.whatsapp_state != state)
    if unless:
        query = query.where(Salon.whatsapp_state.not_in(unless))
    return query.execute() > 0


def _wa_state(salon_id: int) -> str | None:
    row = Salon.select(Salon.whatsapp_state).where(Salon.salon_id == salon_id).first()
    return row.whatsapp_state if row else None


def reset_linking_window(deps: LinkDeps, salon_id: int) -> None:
    deps.redis.delete(qr_index_key(salon_id), qr_payload_key(salon_id), pairing_last_key(salon_id))


# -- gateway status -> our state ---------------------------------------------------------------------

def on_session_status(deps: LinkDeps, salon_id: int, status: str, me_phone: str = "") -> None:
    """Apply one `session.status` webhook."""
    current = _wa_state(salon_id)
    if current is None:
        logger.warning("status %s for unknown salon %s ignored", status, salon_id)
        return
    if status == "SCAN_QR_CODE":
        if publish_qr(deps, salon_id):
            _set_wa_state(salon_id, S.WA_AWAITING_LINK)
    elif status == "WORKING":
        mark_connected(deps, salon_id, me_phone)
    elif status == "FAILED":
        on_failed(deps, salon_id, current, me_phone)
    elif status == "STOPPED":
        if _set_wa_state(salon_id, S.WA_STOPPED):
            record(salon_id, "whatsapp_stopped", "bridge")
    elif status == "STARTING":
        # A connected session restarting is a transient disconnect, not a new link.
        _set_wa_state(salon_id, S.WA_DISCONNECTED if current == S.WA_CONNECTED else S.WA_STARTING)


def publish_qr(deps: LinkDeps, salon_id: int) -> bool:
    """Fetch the current raw QR and publish it; 60 s for the first code of a window, 20 s after.
    A late webhook whose QR is gone (the session moved on) publishes nothing and returns False."""
    key = qr_index_key(salon_id)
    try:
        payload = deps.waha.get_qr_raw(session_name(salon_id))
    except SessionNotReady:
        return False
    svg = render_svg(payload)
    if _bytes(deps.redis.set(qr_payload_key(salon_id), payload, ex=QR_WINDOW_GAP, get=True)) == payload:
        return True  # the same code announced twice: it is already on the page with its countdown
    try:
        pipe = deps.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, QR_WINDOW_GAP)
        index = int(pipe.execute()[0])
        deps.live.publish(salon_id, events.QR, {"payload": payload, "svg": svg,
                                                "expires_in": FIRST_QR_TTL if index == 1 else NEXT_QR_TTL})
    except Exception:
        deps.redis.delete(qr_payload_key(salon_id))  # so the gateway's retry of this webhook publishes it
        raise
    return True


def mark_connected(deps: LinkDeps, salon_id: int, me_phone: str = "") -> bool:
    """The transition into `connected`: store the phone, timeline, publish, enqueue the connected handler.
    Only a transition does all that; a repeated WORKING is a no-op. Returns whether it transitioned."""
    phone = me_phone or deps.waha.get_session(session_name(salon_id)).me_phone
    try:
        phone = normalise_phone(phone) if phone else ""
    except InvalidPhone:
        pass  # keep the gateway's digits: refusing the webhook would only make WAHA retry it forever
    db = Salon._meta.database
    with db.atomic():
        before = Salon.select(Salon.whatsapp_state, Salon.whatsapp_phone).where(Salon.salon_id == salon_id).first()
        changed = (Salon.update(whatsapp_state=S.WA_CONNECTED, whatsapp_phone=phone,
                                whatsapp_connected_at=utcnow(), updated_at=utcnow())
                   .where(Salon.salon_id == salon_id, Salon.whatsapp_state != S.WA_CONNECTED).execute())
        # Back from a transient disconnect on the same number: a reconnect, not a new link.
        reconnect = bool(changed and before.whatsapp_state == S.WA_DISCONNECTED and before.whatsapp_phone == phone)
        if changed:
            record(salon_id, "whatsapp_reconnected" if reconnect else "whatsapp_connected", "bridge",
                   phone=_masked(phone))
    if not changed or reconnect:
        return False
    deps.redis.delete(qr_index_key(salon_id), qr_payload_key(salon_id), pairing_last_key(salon_id))
    deps.live.publish(salon_id, events.WHATSAPP_CONNECTED, {"phone": phone})
    deps.jobs.on_whatsapp_connected(int(salon_id))
    return True


def on_failed(deps: LinkDeps, salon_id: int, current: str, me_phone: str = "") -> None:
    if current in (S.WA_STARTING, S.WA_AWAITING_LINK):
        # The 160 s QR window ran out (or linking broke): offer a restart.
        if _set_wa_state(salon_id, S.WA_FAILED):
            record(salon_id, "whatsapp_link_expired", "bridge")
            deps.redis.delete(qr_index_key(salon_id), qr_payload_key(salon_id))
            _error(deps, salon_id, "link_expired")
    elif not me_phone:
        mark_logged_out(deps, salon_id)
    else:
        _set_wa_state(salon_id, S.WA_DISCONNECTED)  # transient; reconciliation follows it up


def mark_logged_out(deps: LinkDeps, salon_id: int, code: str = "logged_out") -> None:
    if _set_wa_state(salon_id, S.WA_LOGGED_OUT if code == "logged_out" else S.WA_STOPPED):
        record(salon_id, "whatsapp_" + code, "bridge")
        _error(deps, salon_id, code)


# -- commands (called by actors) ---------------------------------------------------------------------

def start_session(deps: LinkDeps, salon_id: int) -> str:
    """Idempotently create/start the salon's session. Gateway down: say so on the page, then re-raise."""
    current = _wa_state(salon_id)
    if current is None:
        raise LookupError(f"salon {salon_id} does not exist")
    if current != S.WA_CONNECTED:
        if _set_wa_state(salon_id, S.WA_STARTING, unless=(S.WA_AWAITING_LINK,)):
            reset_linking_window(deps, salon_id)
    try:
        info = deps.waha.ensure_session(salon_id)
    except RetryableGatewayError:
        _error(deps, salon_id, "gateway_unavailable")
        raise
    record(salon_id, "whatsapp_session_started", "worker", status=info.status)
    _apply_polled_status(deps, salon_id, info.status, info.me_phone)
    return info.status


def request_pairing_code(deps: LinkDeps, salon_id: int, phone: str) -> str | None:
    """Publish a pairing code for `phone`, or an `error`. Only while awaiting a link, one in flight,
    at most one per PAIRING_COOLDOWN seconds per salon. Returns the code or None."""
    try:
        phone = normalise_phone(phone)
    except InvalidPhone:
        _error(deps, salon_id, "invalid_phone")
        return None
    name = session_name(salon_id)
    state = _wa_state(salon_id)
    if state == S.WA_STARTING:
        # The session may already show a QR before its webhook arrived: ask the gateway.
        try:
            status = deps.waha.get_session(name).status
        except SessionNotFound:
            status = ""
        if status == "SCAN_QR_CODE":
            _set_wa_state(salon_id, S.WA_AWAITING_LINK)
            state = S.WA_AWAITING_LINK
    if state != S.WA_AWAITING_LINK:
        _error(deps, salon_id, "not_awaiting_link")
        return None
    now = deps.clock()
    last = deps.redis.get(pairing_last_key(salon_id))
    if last is not None and now - float(last) < PAIRING_COOLDOWN:
        _error(deps, salon_id, "too_many_requests", wait=int(PAIRING_COOLDOWN - (now - float(last))) + 1)
        return None
    token = uuid.uuid4().hex
    if not deps.redis.set(pairing_lock_key(salon_id), token, nx=True, ex=PAIRING_LOCK_TTL):
        _error(deps, salon_id, "request_in_progress")
        return None
    try:
        try:
            raw = deps.waha.request_code(name, phone)
        except RetryableGatewayError:
            raise  # the actor retries; nothing was promised to the page yet
        except InvalidPhone:
            _error(deps, salon_id, "invalid_phone")
            return None
        except SessionNotFound:
            _error(deps, salon_id, "not_awaiting_link")
            return None
        try:
            code = normalise_pairing_code(raw)
        except ValueError:
            _error(deps, salon_id, "pairing_failed")
            return None
        deps.redis.set(pairing_last_key(salon_id), repr(now), ex=PAIRING_COOLDOWN * 4)
        record(salon_id, "whatsapp_pairing_code_requested", "owner", phone=_masked(phone))
        deps.live.publish(salon_id, events.PAIRING_CODE, {"code": code, "expires_in": PAIRING_CODE_TTL})
        return code
    finally:
        deps.redis.register_script(_RELEASE_SCRIPT)(keys=[pairing_lock_key(salon_id)], args=[token])


def pairing_code_failed(deps: LinkDeps, salon_id: int) -> None:
    _error(deps, salon_id, "pairing_failed")


def restart_linking(deps: LinkDeps, salon_id: int) -> bool:
    """Start a fresh linking window (at most RESTARTS_PER_HOUR per salon, sliding). Returns whether it did."""
    if _wa_state(salon_id) is None:
        raise LookupError(f"salon {salon_id} does not exist")
    member = uuid.uuid4().hex
    wait = float(deps.redis.register_script(_RESTART_SCRIPT)(
        keys=[restarts_key(salon_id)], args=[deps.clock(), 3600, RESTARTS_PER_HOUR, member]))
    if wait > 0:
        _error(deps, salon_id, "too_many_restarts", wait=max(1, int(wait // 60) + 1))
        return False
    name = session_name(salon_id)
    reset_linking_window(deps, salon_id)
    deps.live.clear(salon_id, "qr", "pairing_code", "error")
    try:
        try:
            info = deps.waha.get_session(name)
        except SessionNotFound:
            info = deps.waha.ensure_session(salon_id)
        else:
            if info.status != "WORKING":
                info = deps.waha.restart_session(name)
    except RetryableGatewayError:
        deps.redis.zrem(restarts_key(salon_id), member)  # a failed attempt does not use up the budget
        _error(deps, salon_id, "gateway_unavailable")
        raise
    if info.status != "WORKING":
        _set_wa_state(salon_id, S.WA_STARTING)
    record(salon_id, "whatsapp_linking_restarted", "owner", status=info.status)
    _apply_polled_status(deps, salon_id, info.status, info.me_phone)
    return True


def _apply_polled_status(deps: LinkDeps, salon_id: int, status: str, me_phone: str) -> None:
    """What an answer from the gateway (not a webhook) tells us; QR codes only ever come from webhooks."""
    if status == "WORKING":
        mark_connected(deps, salon_id, me_phone)
    elif status == "SCAN_QR_CODE":
        _set_wa_state(salon_id, S.WA_AWAITING_LINK, unless=(S.WA_CONNECTED,))


def _bytes(value) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _masked(phone: str) -> str:
    return mask_phone(phone)
