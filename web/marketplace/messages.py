"""The one message catalogue: every word the owner reads, Russian first, English when the browser prefers it.

Workers and the bridge publish status events with a `code` (and the numbers it needs); the web tier
turns the code into `message` in the reader's language here (web/marketplace/presentation.py). The
page's script has no texts of its own: its labels come from `PAGE`, its states from the events.
"""
from __future__ import annotations

from flask import request

# Error pages of the redirect and the token exchange: (status, title, message).
REDIRECT_ERRORS = {
    "not_configured": (503, "Конфигурация не завершена",
                       "Подключение временно недоступно: сервис ещё не настроен. Пожалуйста, попробуйте позже."),
    "missing_signature": (403, "Ошибка безопасности",
                          "Отсутствует подпись данных. Пожалуйста, попробуйте подключиться заново из маркетплейса YCLIENTS."),
    "bad_signature": (403, "Ошибка безопасности",
                      "Неверная подпись данных. Пожалуйста, попробуйте подключиться заново из маркетплейса YCLIENTS."),
    "bad_user_data": (400, "Ошибка подключения",
                      "Данные пользователя повреждены. Пожалуйста, попробуйте подключиться заново из маркетплейса YCLIENTS."),
    "no_salon_id": (400, "Ошибка подключения", "Не получен ID салона от YCLIENTS."),
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

TOKEN_ERRORS_EN = {
    "missing": (401, "Sign-in needed",
                "Open the connection page from the YCLIENTS marketplace: press “Connect” on the application's card."),
    "invalid": (401, "Invalid link",
                "The link is damaged or invalid. Open the application in the YCLIENTS marketplace and press "
                "“Connect” again."),
    "wrong_type": (401, "Invalid link",
                   "The link is damaged or invalid. Open the application in the YCLIENTS marketplace and press "
                   "“Connect” again."),
    "expired": (401, "The link has expired",
                "The link has expired. Open the application in the YCLIENTS marketplace and press “Connect” again: "
                "the connection continues where it stopped."),
    "used": (409, "The link was already used",
             "This link can be opened only once. Open the application in the YCLIENTS marketplace and press "
             "“Connect” again."),
    "ended": (401, "This link no longer works",
              "The connection of this branch was restarted, removed or continued by another user. Open the "
              "application in the YCLIENTS marketplace and press “Connect” again."),
}


def token_error(reason: str, lang: str) -> tuple[int, str, str]:
    """(status, title, message) of a token error page in `lang`."""
    return (TOKEN_ERRORS_EN if lang == "en" else TOKEN_ERRORS)[reason]


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
    "nothing_to_retry": ("Повторять нечего: сейчас ничего не сломано.", "There is nothing to retry right now."),
    "unavailable": ("Сервис временно недоступен. Статус обновляется раз в несколько секунд.",
                    "The service is temporarily unavailable. The status refreshes every few seconds."),
}


# HTTP errors of any page (404, 405, ...): code -> (ru title, ru text, en title, en text).
HTTP_ERRORS = {
    404: ("Страница не найдена", "Такой страницы нет. Откройте подключение из маркетплейса YCLIENTS.",
          "Page not found", "There is no such page. Open the connection from the YCLIENTS marketplace."),
    405: ("Действие недоступно", "Эта страница так не открывается. Откройте подключение из маркетплейса YCLIENTS.",
          "Action not allowed",
          "This page cannot be opened this way. Open the connection from the YCLIENTS marketplace."),
}
HTTP_ERROR_FALLBACK = ("Ошибка запроса", "Запрос не удался. Откройте подключение из маркетплейса YCLIENTS.",
                       "Request failed", "The request failed. Open the connection from the YCLIENTS marketplace.")
BACK_TO_MARKETPLACE = ("Вернуться в маркетплейс YCLIENTS", "Back to the YCLIENTS marketplace")


def language() -> str:
    best = request.accept_languages.best_match(["ru", "en"], default="ru")
    return best or "ru"


def http_error(code: int, lang: str) -> tuple[str, str, str]:
    """(title, text, back label) of an HTTP error page in `lang`."""
    ru_title, ru_text, en_title, en_text = HTTP_ERRORS.get(code, HTTP_ERROR_FALLBACK)
    if lang == "en":
        return en_title, en_text, BACK_TO_MARKETPLACE[1]
    return ru_title, ru_text, BACK_TO_MARKETPLACE[0]


def api_error(code: str) -> dict:
    ru, en = API_ERRORS[code]
    return {"error": code, "message": en if language() == "en" else ru}


# Status events: code -> (ru, en). `{time}` stays in the text: the page writes the owner's local time
# of `retry_at` there (the server does not know the browser's time zone). Other fields are filled here.
STATUS = {
    "whatsapp_connected": ("WhatsApp подключён: {phone}.", "WhatsApp is connected: {phone}."),
    "activation_started": ("WhatsApp подключён. Активируем интеграцию в YCLIENTS…",
                           "WhatsApp is connected. Activating the integration in YCLIENTS…"),
    "activation_retrying": ("YCLIENTS не ответил на активацию (попытка {attempt} из {max_attempts}). "
                            "Повторим автоматически в {time}.",
                            "YCLIENTS did not answer the activation (attempt {attempt} of {max_attempts}). "
                            "We will try again automatically at {time}."),
    "activation_done": ("Интеграция с YCLIENTS активна.", "The YCLIENTS integration is active."),
    "activation_failed": ("Не удалось активировать интеграцию в YCLIENTS. Нажмите «Повторить сейчас» или напишите "
                          "в поддержку и укажите номер филиала {salon_id}.",
                          "The integration could not be activated in YCLIENTS. Press “Retry now” or contact "
                          "support and give your branch number {salon_id}."),
    "sync_running": ("Интеграция активна — данные загружаются ({percent} %).",
                     "The integration is active — loading your data ({percent} %)."),
    "sync_retrying": ("Не удалось загрузить данные из YCLIENTS (попытка {attempt} из {max_attempts}). "
                      "Повторим автоматически в {time}; уже загруженное сохранено.",
                      "Loading data from YCLIENTS failed (attempt {attempt} of {max_attempts}). "
                      "We will try again automatically at {time}; what is loaded is kept."),
    "sync_failed": ("Не удалось загрузить данные из YCLIENTS, автоматических попыток больше не будет. "
                    "Нажмите «Повторить сейчас» или напишите в поддержку и укажите номер филиала {salon_id}.",
                    "Loading data from YCLIENTS failed and will not be retried automatically. Press “Retry now” "
                    "or contact support and give your branch number {salon_id}."),
    "sync_done": ("Все данные салона загружены.", "All of the salon's data is loaded."),
    "welcome_sent": ("Приветственное сообщение отправлено на номер салона.",
                     "The welcome message was sent to the salon's number."),
    "welcome_failed": ("Приветственное сообщение отправить не удалось, но ассистент уже работает.",
                       "The welcome message could not be sent, but the assistant is already working."),
    "complete_syncing": ("Подключение завершено: данные догрузятся в фоне, страницу можно закрыть.",
                         "The connection is complete: the data will finish loading in the background, you can "
                         "close this page."),
    "complete": ("AI Admin отвечает клиентам салона в WhatsApp: записывает на услуги, отвечает на вопросы и "
                 "напоминает о визитах.",
                 "AI Admin now answers the salon's clients in WhatsApp: books services, answers questions and "
                 "sends visit reminders."),
    # The bridge's error codes (bridge/linking.py publishes them with a Russian text of its own).
    "link_expired": ("Время на привязку истекло. Нажмите «Получить новый код», чтобы начать заново.",
                     "The time to link ran out. Press “Get a new code” to start again."),
    "logged_out": ("WhatsApp отключён. Требуется повторное подключение.",
                   "WhatsApp was logged out. Please link it again."),
    "session_stopped": ("Сессия WhatsApp остановлена. Требуется повторное подключение.",
                        "The WhatsApp session stopped. Please link it again."),
    "gateway_unavailable": ("Сервис WhatsApp временно недоступен. Мы повторим попытку автоматически.",
                            "The WhatsApp service is temporarily unavailable. We will retry automatically."),
    "invalid_phone": API_ERRORS["invalid_phone"],
    "too_many_requests": ("Код уже запрашивался недавно. Подождите немного и попробуйте снова.",
                          "A code was requested recently. Please wait a little and try again."),
    "request_in_progress": API_ERRORS["request_in_progress"],
    "not_awaiting_link": ("Сейчас нельзя получить код: дождитесь QR-кода или начните привязку заново.",
                          "A code cannot be requested right now: wait for the QR code or start linking again."),
    "pairing_failed": ("Не удалось получить код. Попробуйте QR-код.",
                       "The code could not be requested. Please use the QR code."),
    "too_many_restarts": ("Слишком много попыток привязки за час. Подождите немного или свяжите по номеру "
                          "телефона.",
                          "Too many linking attempts this hour. Please wait a little or link with the phone "
                          "number."),
}
ETA = {"ru": ("Осталось около {n} мин.", "Осталось меньше минуты."),
       "en": ("About {n} min left.", "Less than a minute left.")}


class _Keep(dict):
    def __missing__(self, key):  # an unknown placeholder stays as it is ({time} is the page's)
        return "{" + key + "}"


def status_text(code: str, lang: str, params: dict | None = None) -> str | None:
    """The catalogue's text for a status code in `lang`, or None if the code is not in the catalogue."""
    texts = STATUS.get(code)
    if texts is None:
        return None
    return (texts[1] if lang == "en" else texts[0]).format_map(_Keep(params or {}))


def eta_text(seconds: int, lang: str) -> str:
    more, less = ETA["en" if lang == "en" else "ru"]
    return less if seconds < 60 else more.format(n=round(seconds / 60))


# The page's labels (the states it shows come from the events above).
PAGE = {
    "ru": {
        "title": "Подключение AI Admin", "brand": "AI Admin × YCLIENTS", "branch": "Филиал",
        "salon_id": "ID филиала",
        "steps": ["Подключение WhatsApp", "Активация в YCLIENTS", "Загрузка данных", "Приветственное сообщение",
                  "Ассистент работает"],
        "tab_qr": "QR-код", "tab_pairing": "Связать с номером телефона",
        "qr_help": "Откройте WhatsApp на телефоне салона → Настройки → Связанные устройства → Привязать устройство "
                   "и наведите камеру на код.",
        "qr_waiting": "Готовим QR-код…", "qr_expires": "Код обновится через {n} сек",
        "qr_refreshing": "QR-код обновляется…", "new_code": "Получить новый код",
        "phone_label": "Номер WhatsApp салона", "phone_hint": "Например, +7 900 123-45-67",
        "get_code": "Получить код", "pairing_steps": [
            "Откройте WhatsApp на телефоне салона.",
            "Настройки → Связанные устройства → Привязать устройство.",
            "Нажмите «Связать с номером телефона» и введите код без дефиса."],
        "pairing_expires": "Код действует ещё {n} сек", "pairing_expired": "Код истёк. Получите новый код.",
        "pairing_requesting": "Запрашиваем код…", "pairing_network": "Нет связи с сервером. Попробуйте ещё раз.",
        "pairing_timeout": "Код не пришёл. Попробуйте ещё раз или используйте QR-код.",
        "invalid_phone": API_ERRORS["invalid_phone"][0],
        "copy": "Скопировать код", "copied": "Код скопирован",
        "progress": "Загрузка данных", "entities": {"company": "Салон", "service_categories": "Категории услуг",
                                                      "services": "Услуги", "staff": "Сотрудники",
                                                      "clients": "Клиенты", "records": "Записи"},
        "now_loading": "Сейчас: {entity}, {done} из {total}",
        "live": "Статус обновляется сразу", "polling": "Статус обновляется раз в несколько секунд",
        "retry_now": "Повторить сейчас", "retry_requested": "Запустили повторную попытку.",
        "use_pairing": "Связать с номером телефона",
        "restart": "Открыть маркетплейс YCLIENTS", "reload": "Обновить страницу",
        "support": "Поддержка", "done_title": "Готово", "back": "Вернуться в YCLIENTS",
    },
    "en": {
        "title": "Connect AI Admin", "brand": "AI Admin × YCLIENTS", "branch": "Branch", "salon_id": "Branch ID",
        "steps": ["Connect WhatsApp", "Activation in YCLIENTS", "Loading data", "Welcome message",
                  "Assistant at work"],
        "tab_qr": "QR code", "tab_pairing": "Link with phone number",
        "qr_help": "Open WhatsApp on the salon's phone → Settings → Linked devices → Link a device, and point the "
                   "camera at the code.",
        "qr_waiting": "Preparing the QR code…", "qr_expires": "The code refreshes in {n} s",
        "qr_refreshing": "The QR code is refreshing…", "new_code": "Get a new code",
        "phone_label": "The salon's WhatsApp number", "phone_hint": "For example +7 900 123-45-67",
        "get_code": "Get code", "pairing_steps": [
            "Open WhatsApp on the salon's phone.", "Settings → Linked devices → Link a device.",
            "Tap “Link with phone number” and type the code without the hyphen."],
        "pairing_expires": "The code is valid for {n} more s", "pairing_expired": "The code expired. Get a new one.",
        "pairing_requesting": "Requesting a code…", "pairing_network": "No connection to the server. Please try again.",
        "pairing_timeout": "No code arrived. Please try again or use the QR code.",
        "invalid_phone": API_ERRORS["invalid_phone"][1],
        "copy": "Copy the code", "copied": "Code copied",
        "progress": "Loading data", "entities": {"company": "Salon", "service_categories": "Service categories",
                                                 "services": "Services", "staff": "Staff", "clients": "Clients",
                                                 "records": "Appointments"},
        "now_loading": "Now: {entity}, {done} of {total}",
        "live": "Status updates instantly", "polling": "Status refreshes every few seconds",
        "retry_now": "Retry now", "retry_requested": "A new attempt has started.",
        "use_pairing": "Link with phone number",
        "restart": "Open the YCLIENTS marketplace", "reload": "Reload the page",
        "support": "Support", "done_title": "Done", "back": "Back to YCLIENTS",
    },
}


def page_text(key: str) -> str:
    """One of the page's labels in the request's language."""
    return PAGE[language()][key]
