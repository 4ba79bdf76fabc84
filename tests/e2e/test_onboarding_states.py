"""Every state of the onboarding page in a real headless Chromium, at 360×740 and 1280×800.

One stack for the module: the YCLIENTS sandbox, the web tier (gunicorn, gthread) and a Dramatiq
worker (interactive + onboarding + sync queues), on the session's Redis and database. WhatsApp's part (QR,
pairing code, linked) is published with `LiveStatus.publish` exactly as the bridge does; activation
and sync run for real against the sandbox, with its fault knobs. Each test asserts the visible text,
that the current action's element lies inside the viewport, and that axe-core finds no serious or
critical violation. Screenshots go to docs/onboarding/ (written when missing or UPDATE_SCREENSHOTS=1).
"""
from __future__ import annotations

import os
import re
import tempfile
import time
import types

import pytest
import requests

from models import salon as S
from models.db import init_database, utcnow
from models.live import LiveStatus
from models.salon import Salon
from models.registry import all_models
from runtime.settings import RateLimit, Settings
from tests.e2e.browser_support import (PAYLOAD, assert_accessible, assert_in_view, body, browser_available,
                                       make_driver, render_svg, text, until, visible)
from tests.support import BIN, ROOT, Service, free_port, settings_env
from web.marketplace import session, tokens
from runtime.broker import build_broker
from runtime.jobs import Jobs

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SHOTS = ROOT / "docs" / "onboarding"
SIZES = {"phone": (360, 740), "desktop": (1280, 800)}
REDIS_DB = 7  # our own database on the session's redis-server (other tests flush only when they start)


# -- the stack ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stack(redis_server_url, migrated_db_url, tmp_path_factory):
    if not browser_available():
        if os.environ.get("CI"):
            pytest.fail("chromium and chromedriver are required in CI (.ci/run installs them)")
        pytest.skip("chromium/chromedriver not installed")
    import redis as redis_lib

    logs = tmp_path_factory.mktemp("stack")
    redis_url = f"{redis_server_url}/{REDIS_DB}"
    client = redis_lib.Redis.from_url(redis_url)
    client.flushdb()
    database = init_database(migrated_db_url)
    database.connect(reuse_if_open=True)
    with database.atomic():
        for model in all_models():
            model.delete().execute()
    web_port, sandbox_port = free_port(), free_port()
    base, sandbox_url = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{sandbox_port}"
    settings = Settings(app_env="development", database_url=migrated_db_url, redis_url=redis_url,
                        jwt_secret="test-jwt-secret-0123456789abcdef", public_base_url=base,
                        yclients_api_url=sandbox_url, yclients_partner_token="test-partner-token-abcdef",
                        yclients_app_id=18289, yclients_rate_limit=RateLimit.parse("50/s,1000/min"),
                        waha_url="http://127.0.0.1:9", waha_api_key="k", waha_webhook_secret="s",
                        bridge_public_url="http://127.0.0.1:5001", health_token="t")
    env = settings_env(settings)
    started = []
    try:
        sandbox = Service("yclients-sandbox", [str(BIN / "python"), "-m", "sandbox.yclients", "serve", "--port",
                                               str(sandbox_port)], env, logs)
        started.append(sandbox)
        web = Service("web", [str(BIN / "gunicorn"), "--worker-class", "gthread", "--workers", "1", "--threads", "32",
                              "--graceful-timeout", "3", "--bind", f"127.0.0.1:{web_port}", "web:create_app()"],
                      env, logs)
        started.append(web)
        worker = Service("worker", [str(BIN / "dramatiq"), "workers.main", "--skip-logging", "--processes", "1",
                                    "--threads", "2", "--queues", "interactive", "onboarding", "sync"],
                         {**env, "dramatiq_worker_timeout": "100", "dramatiq_queue_prefetch": "1"}, logs)
        started.append(worker)
        sandbox.wait_http(f"{sandbox_url}/healthz")
        web.wait_http(f"{base}/healthz")
        yield types.SimpleNamespace(base=base, settings=settings, sandbox_url=sandbox_url, redis=client,
                                    live=LiveStatus(client), jobs=Jobs(build_broker(settings)), database=database,
                                    logs=lambda: "\n".join(f"--- {s.name}\n{s.log()[-3000:]}" for s in started))
    finally:
        for service in reversed(started):
            service.stop()
        client.flushdb()
        client.close()
        if not database.is_closed():
            database.close()


@pytest.fixture(scope="module")
def browsers(stack, tmp_path_factory):
    drivers = {}
    try:
        for name, (width, height) in SIZES.items():
            drivers[name] = make_driver(width, height, tempfile.mkdtemp(dir=tmp_path_factory.mktemp(name)))
        yield drivers
    finally:
        for driver in drivers.values():
            driver.quit()


@pytest.fixture(params=list(SIZES))
def size(request):
    return request.param


# -- helpers -------------------------------------------------------------------------------------------

def make_salon(stack, salon_id, state=S.PENDING_WHATSAPP, title="Салон «Ромашка»", **fields):
    stack.database.connect(reuse_if_open=True)
    Salon.delete().where(Salon.salon_id == salon_id).execute()
    return Salon.create(salon_id=salon_id, title=title, state=state, **fields)


def open_page(stack, driver, salon_id):
    """The page as the owner sees it after the marketplace redirect (the session cookie set directly)."""
    driver.get(f"{stack.base}/favicon.ico")  # any page of the origin, so the cookie can be set
    token = tokens.issue(stack.settings.jwt_secret, tokens.SESSION, [salon_id], 1)
    driver.delete_all_cookies()
    driver.add_cookie({"name": session.COOKIE, "value": token, "path": "/", "httpOnly": True})
    driver.get(f"{stack.base}/marketplace/onboarding")
    until(driver, lambda: body(driver).get_attribute("data-transport") in ("websocket", "polling"), "the status feed")


def shoot(driver, state, size):
    path = SHOTS / f"{state}-{size}.png"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1" or not path.exists():
        SHOTS.mkdir(parents=True, exist_ok=True)
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(str(path))


def linked(stack, salon_id, phone="79001234567"):
    """What the bridge publishes when the phone has scanned the QR (the worker's part follows)."""
    stack.live.publish(salon_id, "whatsapp_connected", {"phone": phone}, state="whatsapp_connected")


def salon_for(size, phone_id, desktop_id):
    return phone_id if size == "phone" else desktop_id


# -- the states ---------------------------------------------------------------------------------------

def test_the_qr_path_keeps_the_code_and_its_countdown_in_view_then_activates(stack, browsers, size):
    driver, salon = browsers[size], salon_for(size, 810001, 810002)
    make_salon(stack, salon)
    open_page(stack, driver, salon)
    driver.find_element("id", "tab-qr").click()
    stack.live.publish(salon, "qr", {"payload": PAYLOAD, "svg": render_svg(PAYLOAD), "expires_in": 60})
    until(driver, lambda: visible(driver, "qr-image") and "через" in text(driver, "qr-countdown"), "the QR")
    assert_in_view(driver, "qr-image", "qr-countdown", "tab-qr")
    assert "Связанные устройства" in text(driver, "panel-qr")
    assert_accessible(driver)
    shoot(driver, "qr", size)

    linked(stack, salon)
    stack.live.publish(salon, "activation", {"status": "started", "code": "activation_started"}, state="activating")
    until(driver, lambda: "Активируем интеграцию" in text(driver, "status"), "activation started")
    assert not visible(driver, "link")
    assert "+7900***67" in text(driver, "steps") and "79001234567" not in driver.page_source  # masked everywhere
    assert_in_view(driver, "status")
    assert "Готово" not in text(driver)
    assert_accessible(driver)
    shoot(driver, "activating", size)


def test_the_pairing_path_recovers_from_an_error_and_shows_the_code_with_copy_and_countdown(stack, browsers, size):
    driver, salon = browsers[size], salon_for(size, 810011, 810012)
    make_salon(stack, salon)
    open_page(stack, driver, salon)
    driver.find_element("id", "tab-pairing").click()
    driver.find_element("id", "phone").send_keys("8 (900) 123-45-67")
    driver.find_element("id", "pairing-submit").click()
    until(driver, lambda: text(driver, "pairing-note") == "Запрашиваем код…", "requesting")
    assert driver.find_element("id", "pairing-submit").get_attribute("disabled")

    # The bridge answers with an error: the page says so, and the owner can ask again (no endless spinner).
    stack.live.publish(salon, "error", {"code": "pairing_failed",
                                        "message": "Не удалось получить код. Попробуйте QR-код."})
    until(driver, lambda: text(driver, "pairing-note") == "Не удалось получить код. Попробуйте QR-код.", "the error")
    assert not driver.find_element("id", "pairing-submit").get_attribute("disabled")
    assert_in_view(driver, "pairing-note", "pairing-submit", "phone")
    assert_accessible(driver)
    shoot(driver, "pairing-error", size)

    # Asking again within the in-progress lock: the server's 409 is shown, and stays (not overwritten).
    driver.find_element("id", "pairing-submit").click()
    until(driver, lambda: "Запрос уже в обработке" in text(driver, "pairing-note"), "the 409")
    time.sleep(2.5)
    assert "Запрос уже в обработке" in text(driver, "pairing-note")

    stack.redis.delete(f"aiadmin:web:pairing-lock:{salon}")  # the lock's 15 s have passed
    driver.find_element("id", "pairing-submit").click()
    until(driver, lambda: text(driver, "pairing-note") == "Запрашиваем код…", "requesting again")
    stack.live.publish(salon, "pairing_code", {"code": "5WJT1N7D", "expires_in": 60})
    until(driver, lambda: text(driver, "pairing-code") == "5WJT-1N7D", "the code")
    until(driver, lambda: re.search(r"действует ещё \d+ сек", text(driver, "pairing-countdown")), "its countdown")
    assert_in_view(driver, "pairing-code", "pairing-copy", "pairing-countdown")
    driver.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": stack.base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    driver.find_element("id", "pairing-copy").click()
    until(driver, lambda: text(driver, "pairing-copy") == "Код скопирован", "copied")
    assert driver.execute_async_script("navigator.clipboard.readText().then(arguments[0], function () "
                                       "{ arguments[0](''); })") == "5WJT1N7D"
    assert_accessible(driver)
    shoot(driver, "pairing-code", size)


def test_complete_while_the_sync_runs_shows_progress_and_no_done_until_the_data_is_in(stack, browsers, size):
    driver, salon = browsers[size], salon_for(size, 810021, 810022)
    make_salon(stack, salon, state=S.ACTIVE)
    open_page(stack, driver, salon)
    linked(stack, salon)
    stack.live.publish(salon, "activation", {"status": "done", "code": "activation_done"}, state="active")
    stack.live.publish(salon, "welcome", {"status": "sent", "code": "welcome_sent"})
    stack.live.publish(salon, "sync", {"status": "running", "entity": "records", "done": 200, "total": 4000,
                                       "percent": 55, "requests_left": 19, "code": "sync_running"})
    stack.live.publish(salon, "complete", {"sync_running": True, "welcome": "sent", "code": "complete_syncing"})
    until(driver, lambda: "данные загружаются (55 %)" in text(driver, "status"), "the honest headline")
    assert driver.find_element("id", "sync-progress").get_attribute("value") == "55"
    assert "Сейчас: Записи, 200 из 4000" in text(driver, "sync-box")
    assert "страницу можно закрыть" in text(driver, "sync-box")
    assert "Готово" not in text(driver) and "records" not in text(driver)  # no false "done", no raw keys
    assert_in_view(driver, "status", "sync-progress")
    assert_accessible(driver)
    shoot(driver, "syncing", size)

    stack.live.publish(salon, "sync", {"status": "done", "entity": "all", "done": 4200, "total": 4200,
                                       "percent": 100, "code": "sync_done"})
    until(driver, lambda: visible(driver, "done"), "the done screen")
    assert text(driver).count("Готово") == 1
    assert "записывает на услуги" in text(driver, "done")
    back = driver.find_element("id", "done-back")
    assert back.text == "Вернуться в YCLIENTS" and back.get_attribute("href").startswith(stack.sandbox_url)
    assert_in_view(driver, "done-title", "done-back")
    assert_accessible(driver)
    shoot(driver, "done", size)


def test_a_failing_sync_is_visible_within_a_minute_with_its_retry_time_and_retry_now_works(stack, browsers, size):
    driver, salon = browsers[size], salon_for(size, 997441, 970002)
    make_salon(stack, salon, state=S.ACTIVE, activated_at=utcnow(), whatsapp_phone="79001234567",
               whatsapp_state=S.WA_CONNECTED)
    open_page(stack, driver, salon)
    requests.post(f"{stack.sandbox_url}/_sandbox/faults", json={"error_rate": 1.0}, timeout=5).raise_for_status()
    try:
        started = time.monotonic()
        stack.jobs.send("sync_salon", salon, "full")
        until(driver, lambda: visible(driver, "failure") and "попытка 1 из 9" in text(driver, "failure"),
              f"the failed attempt\n{stack.logs()}", timeout=60)
        assert time.monotonic() - started < 60
        message = text(driver, "failure-message")
        assert re.search(r"Повторим автоматически в \d\d:\d\d", message), message
        assert "{time}" not in message
        assert "Онлайн" not in text(driver)
        assert stack.settings.support_contact in text(driver, "failure")
        assert_in_view(driver, "failure-message", "retry-now")
        assert_accessible(driver)
        shoot(driver, "sync-failed", size)
    finally:
        requests.post(f"{stack.sandbox_url}/_sandbox/faults", json={"error_rate": 0.0}, timeout=5)
    driver.find_element("id", "retry-now").click()
    until(driver, lambda: "Запустили повторную попытку" in text(driver, "failure-note")
          or not visible(driver, "failure"), "retry now accepted")
    until(driver, lambda: "Все данные салона загружены" in text(driver, "status"), f"the sync done\n{stack.logs()}",
          timeout=90)
    assert not visible(driver, "failure")


def test_a_failed_activation_offers_retry_support_and_the_way_back(stack, browsers, size):
    driver, salon = browsers[size], salon_for(size, 970001, 962302)
    make_salon(stack, salon, state=S.WHATSAPP_CONNECTED, whatsapp_phone="79001234567", whatsapp_state=S.WA_CONNECTED)
    open_page(stack, driver, salon)
    requests.post(f"{stack.sandbox_url}/_sandbox/faults", json={"activation": [422]}, timeout=5).raise_for_status()
    stack.jobs.send("activate_integration", salon)
    until(driver, lambda: visible(driver, "failure"), f"the activation failure\n{stack.logs()}", timeout=30)
    message = text(driver, "failure-message")
    assert "Не удалось активировать интеграцию" in message and str(salon) in message
    assert stack.settings.support_contact in text(driver, "failure")
    assert driver.find_element("id", "failure-back").get_attribute("href").startswith(stack.sandbox_url)
    assert_in_view(driver, "failure-message", "retry-now")
    assert_accessible(driver)
    shoot(driver, "activation-failed", size)

    driver.find_element("id", "retry-now").click()  # the fault was used up: this attempt succeeds
    until(driver, lambda: "done" in driver.find_element("css selector", '#steps li[data-step="activation"]')
          .get_attribute("class"), f"activation done after retry\n{stack.logs()}", timeout=30)
    assert not visible(driver, "failure")


def test_a_reload_mid_way_shows_the_same_state_without_the_stale_qr(stack, browsers, size):
    driver, salon = browsers[size], salon_for(size, 810031, 810032)
    make_salon(stack, salon, state=S.ACTIVE)
    open_page(stack, driver, salon)
    stack.live.publish(salon, "qr", {"payload": PAYLOAD, "svg": render_svg(PAYLOAD), "expires_in": 60})
    linked(stack, salon)
    stack.live.publish(salon, "activation", {"status": "done", "code": "activation_done"}, state="active")
    stack.live.publish(salon, "sync", {"status": "running", "entity": "clients", "done": 400, "total": 1400,
                                       "percent": 38, "code": "sync_running"})
    until(driver, lambda: "(38 %)" in text(driver, "status"), "progress")
    driver.refresh()
    until(driver, lambda: "(38 %)" in text(driver, "status"), "the same progress after a reload")
    assert not visible(driver, "link") and not driver.find_element("id", "qr-image").get_attribute("src")
    assert_in_view(driver, "status", "sync-progress")
    assert_accessible(driver)


def test_with_the_websocket_blocked_the_page_polls_and_still_shows_each_state(stack, browsers, size):
    driver, salon = browsers[size], salon_for(size, 810041, 810042)
    make_salon(stack, salon)
    script = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
        "window.WebSocket = function () { throw new Error('blocked by a proxy'); };")})
    try:
        open_page(stack, driver, salon)
        until(driver, lambda: body(driver).get_attribute("data-transport") == "polling", "polling")
        assert "раз в несколько секунд" in text(driver, "connection")
        stack.live.publish(salon, "qr", {"payload": PAYLOAD, "svg": render_svg(PAYLOAD), "expires_in": 60})
        driver.find_element("id", "tab-qr").click()
        until(driver, lambda: visible(driver, "qr-image"), "the QR, by polling")
        assert_in_view(driver, "qr-image", "qr-countdown")
        linked(stack, salon)
        stack.live.publish(salon, "activation", {"status": "started", "code": "activation_started"},
                           state="activating")
        until(driver, lambda: "Активируем интеграцию" in text(driver, "status"), "activating, by polling")
        assert_accessible(driver)
    finally:
        driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})


def test_an_english_browser_reads_english_end_to_end(stack, tmp_path):
    driver = make_driver(1280, 800, tempfile.mkdtemp(dir=tmp_path), lang="en")
    try:
        salon = 810051
        make_salon(stack, salon, state=S.ACTIVE)
        open_page(stack, driver, salon)
        linked(stack, salon)
        stack.live.publish(salon, "activation", {"status": "done", "code": "activation_done"}, state="active")
        stack.live.publish(salon, "sync", {"status": "failed", "entity": "clients", "done": 0, "total": 0,
                                           "retry_at": time.time() + 120, "attempt": 2, "max_attempts": 9,
                                           "code": "sync_retrying"})
        until(driver, lambda: visible(driver, "failure"), "the failure")
        assert re.search(r"attempt 2 of 9\). We will try again automatically at \d\d:\d\d", text(driver, "failure"))
        assert "Retry now" in text(driver, "failure") and "Back to YCLIENTS" in text(driver, "failure")
        assert not re.search(r"[А-Яа-яЁё]", text(driver).replace("Салон «Ромашка»", "")), text(driver)
        assert driver.find_element("tag name", "html").get_attribute("lang") == "en"
        assert_accessible(driver)
        driver.get(f"{stack.base}/no-such-page")
        assert "Page not found" in text(driver)
    finally:
        driver.quit()


def test_unknown_pages_and_wrong_methods_answer_in_russian(stack, browsers):
    driver = browsers["phone"]
    driver.get(f"{stack.base}/marketplace/no-such-page")
    assert "Страница не найдена" in text(driver)
    response = requests.delete(f"{stack.base}/marketplace/onboarding", headers={"Accept": "text/html"}, timeout=5)
    assert response.status_code == 405 and "Действие недоступно" in response.text
    assert '<html lang="ru">' in response.text and stack.sandbox_url in response.text


def test_the_sandbox_marketplace_is_usable_on_a_phone_and_every_link_stays_local(stack, browsers):
    driver = browsers["phone"]
    driver.delete_all_cookies()
    driver.get(f"{stack.sandbox_url}/")
    assert driver.execute_script("return document.querySelector('meta[name=viewport]') !== null")
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    hrefs = [a.get_attribute("href") for a in driver.find_elements("css selector", "a")]
    assert hrefs and all(h.startswith(stack.sandbox_url) for h in hrefs), hrefs
    first = driver.find_element("css selector", "a.btn")
    assert driver.execute_script("var r = arguments[0].getBoundingClientRect();"
                                 "return r.height >= 40 && r.bottom <= window.innerHeight", first)
    assert_accessible(driver)
    driver.find_element("css selector", "a[href='/connect?salon_id=990000']").click()
    until(driver, lambda: driver.current_url == f"{stack.base}/marketplace/onboarding",
          f"the onboarding page\n{stack.logs()}", timeout=30)
    links = [a.get_attribute("href") for a in driver.find_elements("css selector", "a[href^='http']")]
    assert links and all(h.startswith((stack.sandbox_url, stack.base)) for h in links), links
