"""What the pages say, Russian first; English when the browser prefers it."""
from __future__ import annotations

from flask import request

# Error pages of the redirect and the token exchange: (status, title, message).
REDIRECT_ERRORS = {
    "not_configured": (503, "Конфигурация не завершена",
                       "Подключение временно недоступно: сервис ещё не настроен. Пожалуйста, попробуйте позже."),
    "missing_signature": (403, "Ошибка безопасности",
                          "Отсутствует подпись данных. Пожалуйста, попробуйте подключиться заново из маркетплейса YCLIENTS."),
    "bad_signature": (403, "Ошибка безопасности",
                      "Неверная подпись данных. Пожалуйста, попробуйте подключиться заново из маркетплейса YClients."),
    "bad_user_data": (400, "Ошибка подключения",
                      "Данные пользователя повреждены. Пожалуйста, попробуйте подключиться заново из маркетплейса YCLIENTS."),
    "no_salon_id": (400, "Ошибка подключения", "Не получен ID салона от YClients."),
    "bad_salon_id": (400, "Некорректный ID салона",
                     "YCLIENTS передал некорректный ID салона. Попробуйте подключиться заново из маркетплейса."),
    "too_many_salons": (400, "Ошибка подключения", "Слишком много филиалов в одном запросе."),
    "rate_limited": (429, "Слишком много попыток",
                     "Слишком много попыток подключения с этого адреса. Подождите несколько минут и нажмите «Подключить» в маркетплейсе YCLIENTS ещё раз."),
    # The install check with YCLIENTS (S-3): only branches YCLIENTS confirms get in.
    "not_confirmed": (403, "Подключение не подтверждено",
                      "YCLIENTS не подтвердил подключение приложения в этом филиале. Откройте маркетплейс YCLIENTS в нужном филиале и нажмите «Подключить» ещё раз."),
    "salon_mismatch": (403, "Подключение не подтверждено",
                       "Данные подключения не совпадают с филиалом в YCLIENTS. Откройте маркетплейс YCLIENTS в нужном филиале и нажмите «Подключить» ещё раз. Если ошибка повторяется, напишите в поддержку."),
    # Not a 5xx: YCLIENTS being down is not our failure (monitoring counts 5xx as ours); Retry-After says when.
    "check_unavailable": (200, "YCLIENTS временно недоступен",
                          "Не удалось проверить подключение в YCLIENTS. Попробуйте ещё раз через минуту: обновите страницу или снова нажмите «Подключить» в маркетплейсе."),
    "check_rate_limited": (429, "Слишком много проверок",
                           "Слишком много попыток подключения подряд. Подождите несколько минут и нажмите «Подключить» в маркетплейсе YCLIENTS ещё раз."),
}

# The interim page while the worker asks YCLIENTS: (title, message); it reloads itself.
CHECKING = ("Проверяем подключение в YCLIENTS…",
            "Это займёт несколько секунд. Страница обновится сама.")

TOKEN_ERRORS = {
    "missing": (401, "Нужна авторизация",
                "Откройте страницу подключения из маркетплейса YCLIENTS: нажмите «Подключить» в карточке приложения."),
    "invalid": (401, "Недействительная ссылка",
                "Ссылка повреждена или недействительна. Откройте приложение в маркетплейсе YCLIENTS и нажмите «Подключить» ещё раз."),
    "wrong_type": (401, "Недействительная ссылка",
                   "Ссылка повреждена или недействительна. Откройте приложение в маркетплейсе YCLIENTS и нажмите «Подключить» ещё раз."),
    "expired": (401, "Ссылка устарела",
                "Срок действия ссылки истёк. Откройте приложение в маркетплейсе YCLIENTS и нажмите «Подключить» ещё раз — подключение продолжится с того места, где остановилось."),
    "used": (409, "Ссылка уже использована",
             "Эту ссылку можно открыть только один раз. Откройте приложение в маркетплейсе YCLIENTS и нажмите «Подключить» ещё раз."),
    "ended": (401, "Эта ссылка больше не действует",
              "Подключение этого филиала было перезапущено, отключено или его продолжил другой пользователь. Откройте приложение в маркетплейсе YCLIENTS и нажмите «Подключить» ещё раз."),
}

# JSON/socket errors: code -> (ru, en).
API_ERRORS = {
    "unauthorized": ("Сессия недействительна. Откройте подключение заново из маркетплейса YCLIENTS.",
                     "Your session is not valid. Start again from the YCLIENTS marketplace."),
    "session_ended": ("Эта ссылка больше не действует: подключение перезапущено, отключено или его продолжил другой пользователь. Нажмите «Подключить» в маркетплейсе YCLIENTS ещё раз.",
                      "This link has ended: the connection was restarted, removed or taken over by another user. Press “Connect” in the YCLIENTS marketplace again."),
    "token_expired": ("Сессия истекла. Откройте подключение заново из маркетплейса YCLIENTS.",
                      "Your session has expired. Start again from the YCLIENTS marketplace."),
    "forbidden_salon": ("Этот филиал недоступен в текущей сессии.", "This branch is not part of your session."),
    "invalid_phone": ("Неверный формат номера (10–15 цифр).", "Invalid phone number (10–15 digits)."),
    "rate_limited": ("Слишком много запросов. Подождите немного и попробуйте снова.",
                     "Too many requests. Please wait a little and try again."),
    "request_in_progress": ("Запрос уже в обработке. Подождите…", "A request is already in progress. Please wait…"),
    "bad_origin": ("Недопустимый источник запроса.", "Origin not allowed."),
    "too_many_connections": ("Слишком много подключений, попробуйте позже.",
                             "Too many connections, please try later."),
    "bad_request": ("Некорректный запрос.", "Bad request."),
    "unavailable": ("Сервис временно недоступен. Статус обновляется раз в несколько секунд.",
                    "The service is temporarily unavailable. The status refreshes every few seconds."),
}


def language() -> str:
    best = request.accept_languages.best_match(["ru", "en"], default="ru")
    return best or "ru"


def api_error(code: str) -> dict:
    ru, en = API_ERRORS[code]
    return {"error": code, "message": en if language() == "en" else ru}


PAGE = {
    "ru": {
        "title": "Подключение AI Admin", "branch": "Филиал", "salon_id": "ID филиала",
        "steps": ["Подключение WhatsApp", "Активация в YCLIENTS", "Синхронизация данных",
                  "Приветственное сообщение", "Готово"],
        "tab_qr": "QR-код", "tab_pairing": "Связать по номеру телефона",
        "qr_help": "Откройте WhatsApp на телефоне салона → Настройки → Связанные устройства → Привязать устройство и наведите камеру на код.",
        "qr_waiting": "Готовим QR-код…", "qr_expires": "Код обновится через {n} сек",
        "qr_refreshing": "QR-код обновляется…", "new_code": "Получить новый код",
        "phone_label": "Номер WhatsApp салона", "phone_hint": "Например, +7 900 123-45-67",
        "get_code": "Получить код", "pairing_steps": [
            "Откройте WhatsApp на телефоне салона.",
            "Настройки → Связанные устройства → Привязать устройство.",
            "Нажмите «Связать с номером телефона» и введите код без дефиса."],
        "pairing_expires": "Код действует ещё {n} сек", "pairing_expired": "Код истёк. Получите новый код.",
        "pairing_requested": "Запрашиваем код…",
        "connected": "WhatsApp подключён", "activation_started": "Активируем интеграцию в YCLIENTS…",
        "activation_done": "Интеграция активирована", "activation_failed": "Не удалось активировать интеграцию",
        "sync_running": "Синхронизируем данные…", "sync_done": "Данные синхронизированы",
        "sync_failed": "Синхронизация не удалась", "welcome_sent": "Приветственное сообщение отправлено",
        "welcome_failed": "Не удалось отправить приветственное сообщение",
        "done": "Готово! AI Admin подключён к вашему салону.",
        "entities": {"company": "Салон", "service_categories": "Категории услуг", "services": "Услуги",
                     "staff": "Сотрудники", "clients": "Клиенты", "records": "Записи"},
        "live": "Онлайн", "polling": "Обновление статуса раз в несколько секунд",
        "retry": "Попробовать снова", "use_qr": "Использовать QR-код", "use_pairing": "Связать по номеру",
        "restart": "Открыть маркетплейс YCLIENTS", "reload": "Обновить страницу",
        "support": "Написать в поддержку", "state": "Статус",
    },
    "en": {
        "title": "Connect AI Admin", "branch": "Branch", "salon_id": "Branch ID",
        "steps": ["Connect WhatsApp", "Activation in YCLIENTS", "Data sync", "Welcome message", "Done"],
        "tab_qr": "QR code", "tab_pairing": "Link with phone number",
        "qr_help": "Open WhatsApp on the salon's phone → Settings → Linked devices → Link a device, and point the camera at the code.",
        "qr_waiting": "Preparing the QR code…", "qr_expires": "The code refreshes in {n} s",
        "qr_refreshing": "The QR code is refreshing…", "new_code": "Get a new code",
        "phone_label": "The salon's WhatsApp number", "phone_hint": "For example +7 900 123-45-67",
        "get_code": "Get code", "pairing_steps": [
            "Open WhatsApp on the salon's phone.", "Settings → Linked devices → Link a device.",
            "Tap “Link with phone number instead” and type the code without the hyphen."],
        "pairing_expires": "The code is valid for {n} more s", "pairing_expired": "The code expired. Get a new one.",
        "pairing_requested": "Requesting a code…",
        "connected": "WhatsApp connected", "activation_started": "Activating the integration in YCLIENTS…",
        "activation_done": "Integration activated", "activation_failed": "Activation failed",
        "sync_running": "Syncing data…", "sync_done": "Data synced", "sync_failed": "Sync failed",
        "welcome_sent": "Welcome message sent", "welcome_failed": "The welcome message could not be sent",
        "done": "Done! AI Admin is connected to your salon.",
        "entities": {"company": "Salon", "service_categories": "Service categories", "services": "Services",
                     "staff": "Staff", "clients": "Clients", "records": "Appointments"},
        "live": "Live", "polling": "Status refreshes every few seconds",
        "retry": "Try again", "use_qr": "Use the QR code", "use_pairing": "Link with phone number",
        "restart": "Open the YCLIENTS marketplace", "reload": "Reload the page",
        "support": "Contact support", "state": "Status",
    },
}
