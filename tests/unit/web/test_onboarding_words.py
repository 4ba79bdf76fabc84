"""The page's words come from one catalogue, in the reader's language; the snapshot is lean (no QR after
linking, masked phones), compressed and conditional; «Повторить сейчас» is rate-limited; 404/405 in Russian."""
import gzip
import json
import re

import pytest

from models import salon as S
from models.salon import Salon
from models.sync_run import SyncRun
from tests.fakes.onboarding import ReopeningClient
from web.marketplace import messages, presentation, session, tokens

SALON = 962302
QR_SVG = "<svg>" + "x" * 20000 + "</svg>"


def signed_in(app, settings, database, lang="ru"):
    client = ReopeningClient(app.test_client(), database)
    client.set_cookie(session.COOKIE, tokens.issue(settings.jwt_secret, tokens.SESSION, [SALON], 1))
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    return client


def status(client, **headers):
    return client.get(f"/marketplace/status?salon_id={SALON}", headers=headers)


# -- the catalogue ----------------------------------------------------------------------------------

CODES_PUBLISHED = ["whatsapp_connected", "activation_started", "activation_retrying", "activation_done",
                   "activation_failed", "sync_running", "sync_retrying", "sync_failed", "sync_done", "welcome_sent",
                   "welcome_failed", "complete_syncing", "complete"]


@pytest.mark.parametrize("code", CODES_PUBLISHED)
def test_every_status_code_has_russian_and_english_words_with_the_same_placeholders(code):
    ru, en = messages.STATUS[code]
    assert re.search(r"[а-яё]", ru, re.I) and not re.search(r"[а-яё]", en, re.I)
    assert set(re.findall(r"\{(\w+)\}", ru)) == set(re.findall(r"\{(\w+)\}", en))


def test_the_page_labels_exist_in_both_languages_and_use_one_spelling_of_the_names():
    assert messages.PAGE["ru"].keys() == messages.PAGE["en"].keys()
    everything = json.dumps([messages.PAGE, messages.STATUS, messages.REDIRECT_ERRORS, messages.TOKEN_ERRORS],
                            ensure_ascii=False)
    assert "YClients" not in everything and "Admin AI" not in everything
    assert "«Связать с номером телефона»" in " ".join(messages.PAGE["ru"]["pairing_steps"])
    assert messages.PAGE["ru"]["tab_pairing"] == "Связать с номером телефона"  # the tab names WhatsApp's item


def test_a_failed_attempt_reads_as_what_happens_next_and_leaves_the_time_to_the_page():
    reader = presentation.Reader("ru", "+7 800 000-00-00", 200 / 60)
    data = presentation.present("sync", {"status": "failed", "entity": "clients", "done": 0, "total": 0,
                                         "retry_at": 1.9e9, "attempt": 2, "max_attempts": 9}, SALON, reader)
    assert data["message"] == ("Не удалось загрузить данные из YCLIENTS (попытка 2 из 9). Повторим автоматически "
                               "в {time}; уже загруженное сохранено.")
    assert data["support"] == "+7 800 000-00-00" and data["code"] == "sync_retrying"


def test_the_sync_estimate_comes_from_the_rate_budget():
    reader = presentation.Reader("ru", "", 200 / 60)
    data = presentation.present("sync", {"status": "running", "entity": "records", "done": 0, "total": 4000,
                                         "percent": 40, "requests_left": 400}, SALON, reader)
    assert data["eta_s"] == 120 and "requests_left" not in data
    assert data["message"] == "Интеграция активна — данные загружаются (40 %). Осталось около 2 мин."


# -- the snapshot as the page gets it ----------------------------------------------------------------

def test_after_linking_the_snapshot_drops_the_qr_and_masks_the_phone(app, settings, database, live):
    live.publish(SALON, "qr", {"payload": "2@abc", "svg": QR_SVG, "expires_in": 60})
    live.publish(SALON, "pairing_code", {"code": "5WJT1N7D", "expires_in": 60})
    before = status(signed_in(app, settings, database)).get_json()["data"]
    assert before["qr"]["svg"] == QR_SVG  # while linking the QR is the point
    live.publish(SALON, "whatsapp_connected", {"phone": "79001234567"}, state="whatsapp_connected")
    response = status(signed_in(app, settings, database))
    data = response.get_json()["data"]
    assert data["qr"] is None and data["pairing_code"] is None
    assert data["whatsapp"]["phone"] == "+7900***67" and "79001234567" not in response.get_data(as_text=True)
    assert set(response.get_json()["slots"]) == {"whatsapp"}


def test_the_snapshot_speaks_the_browsers_language(app, settings, database, live):
    live.publish(SALON, "activation", {"status": "failed", "code": "activation_failed"}, state="activation_failed")
    ru = status(signed_in(app, settings, database)).get_json()["data"]["activation"]
    en = status(signed_in(app, settings, database, lang="en")).get_json()["data"]["activation"]
    assert "Не удалось активировать" in ru["message"] and str(SALON) in ru["message"]
    assert en["message"].startswith("The integration could not be activated")
    assert ru["support"] == en["support"] == settings.support_contact


def test_a_database_error_text_never_reaches_the_page(app, settings, database, redis_client):
    Salon.create(salon_id=SALON, state=S.ACTIVATION_FAILED, activation_error="401: Unauthorized partner token xyz")
    SyncRun.create(salon_id=SALON, status="failed", entity="clients", error="psycopg2 boom",
                   checkpoints={"clients": {"done": 1, "total": 2, "status": "running"}})
    redis_client.flushall()
    body = status(signed_in(app, settings, database)).get_data(as_text=True)
    assert "Unauthorized" not in body and "psycopg2" not in body and "Не удалось активировать" in body


def test_a_snapshot_rebuilt_from_the_database_keeps_the_overall_progress(app, settings, database, redis_client):
    Salon.create(salon_id=SALON, state=S.ACTIVE, activated_at=S.utcnow())
    SyncRun.create(salon_id=SALON, status="running", entity="clients",
                   checkpoints={"company": {"status": "done", "done": 1, "total": 1},
                                "clients": {"status": "running", "done": 700, "total": 1400},
                                "records": {"status": "pending", "done": 0, "total": 0}})
    redis_client.flushall()
    sync = status(signed_in(app, settings, database)).get_json()["data"]["sync"]
    assert sync["percent"] == 23 and "(23 %)" in sync["message"]  # (2 + 0.5 * 40) / (2 + 40 + 50)


def test_polling_is_gzipped_and_an_unchanged_snapshot_is_a_bodiless_304(app, settings, database, live):
    live.publish(SALON, "qr", {"payload": "2@abc", "svg": QR_SVG, "expires_in": 60})
    client = signed_in(app, settings, database)
    first = status(client, **{"Accept-Encoding": "gzip"})
    assert first.headers["Content-Encoding"] == "gzip" and len(first.data) < 2000
    assert json.loads(gzip.decompress(first.data))["data"]["qr"]["svg"] == QR_SVG
    again = status(client, **{"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    live.publish(SALON, "qr", {"payload": "2@def", "svg": QR_SVG, "expires_in": 20})
    changed = status(client, **{"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]


# -- retry now ----------------------------------------------------------------------------------------

def retry(client):
    return client.post("/marketplace/retry", json={"salon_id": SALON})


def test_retry_now_re_runs_a_failed_activation_once_a_minute(app, settings, database, jobs, live):
    Salon.create(salon_id=SALON, state=S.ACTIVATION_FAILED)
    client = signed_in(app, settings, database)
    first = retry(client)
    assert first.status_code == 202 and first.get_json()["message"] == "Запустили повторную попытку."
    second = retry(client)
    assert second.status_code == 429 and second.get_json()["retry_after"] > 0
    assert jobs.calls() == [("activate_integration", SALON)]


def test_retry_now_does_not_wait_for_the_scheduled_activation_attempt(app, settings, database, jobs, live):
    Salon.create(salon_id=SALON, state=S.ACTIVATING)
    live.publish(SALON, "activation", {"status": "failed", "code": "activation_retrying", "retry_at": 1.9e9,
                                       "attempt": 3, "max_attempts": 9})
    assert retry(signed_in(app, settings, database)).status_code == 202
    assert jobs.calls() == [("activate_integration", SALON)]


def test_retry_now_re_runs_a_failing_sync(app, settings, database, jobs, live):
    Salon.create(salon_id=SALON, state=S.ACTIVE)
    live.publish(SALON, "sync", {"status": "failed", "entity": "clients", "done": 0, "total": 0,
                                 "retry_at": 1.9e9, "attempt": 1, "max_attempts": 9})
    assert retry(signed_in(app, settings, database)).status_code == 202
    assert jobs.calls() == [("sync_salon", SALON, "full")]


def test_retry_now_with_nothing_failed_enqueues_nothing(app, settings, database, jobs, live):
    Salon.create(salon_id=SALON, state=S.ACTIVE)
    live.publish(SALON, "sync", {"status": "running", "entity": "clients", "done": 0, "total": 10})
    response = retry(signed_in(app, settings, database))
    assert response.status_code == 409 and response.get_json()["error"] == "nothing_to_retry"
    assert jobs.calls() == []


# -- the page and its errors --------------------------------------------------------------------------

def test_the_page_script_has_no_texts_of_its_own():
    from pathlib import Path

    script = (Path(__file__).parents[3] / "web" / "static" / "onboarding.js").read_text()
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", script, flags=re.S)
    assert not re.search(r"[А-Яа-яЁё]", code)
    assert "Готово" not in script


def test_every_label_the_page_uses_is_in_the_catalogue_and_none_is_left_over():
    from pathlib import Path

    web = Path(__file__).parents[3] / "web"
    used = set(re.findall(r"\bT\.(\w+)", (web / "static" / "onboarding.js").read_text()))
    used |= set(re.findall(r"\bt\.(\w+)", (web / "templates" / "onboarding.html").read_text()))
    used.add("retry_requested")  # the server's answer to «Повторить сейчас»
    assert used == set(messages.PAGE["ru"])


@pytest.mark.parametrize("lang, title", [("ru", "Нужна авторизация"), ("en", "Sign-in needed")])
def test_the_page_without_a_session_explains_in_the_browsers_language(app, lang, title):
    response = app.test_client().get("/marketplace/onboarding", headers={"Accept-Language": lang})
    assert response.status_code == 401 and title in response.get_data(as_text=True)
    assert messages.TOKEN_ERRORS.keys() == messages.TOKEN_ERRORS_EN.keys()


@pytest.mark.parametrize("lang, title", [("ru", "Страница не найдена"), ("en", "Page not found")])
def test_an_unknown_page_answers_in_the_browsers_language(app, lang, title):
    response = app.test_client().get("/marketplace/nope", headers={"Accept-Language": lang})
    assert response.status_code == 404 and title in response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in response.get_data(as_text=True)


def test_a_wrong_method_answers_in_russian_with_allow(app):
    response = app.test_client().put("/marketplace/onboarding", headers={"Accept": "text/html"})
    assert response.status_code == 405 and "Действие недоступно" in response.get_data(as_text=True)
    assert "GET" in response.headers["Allow"]
