"""A real headless Chromium follows the marketplace redirect and watches the onboarding page react live.

The web tier runs as a real gunicorn (gthread) process so flask-sock works; status events are
published to the real Redis with `LiveStatus.publish`, exactly as the bridge and the workers do.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from urllib.parse import unquote
from xml.etree import ElementTree

import pytest
import qrcode

from models.live import LiveStatus, snapshot_key
from tests.e2e.browser_support import PAYLOAD, render_svg, text, until
from tests.fakes.onboarding import SAMPLE_USER, press_connect, signed_query
from tests.support import BIN, free_port
from web.marketplace import session, tokens

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SALON = 962302
SALON_NAME = "KULTURA Малаховка"  # the sandbox's company title of SALON (the redirect cross-checks it)


def _browser_available() -> bool:
    return os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)


@pytest.fixture
def browser_factory(tmp_path):
    if not _browser_available():
        if os.environ.get("CI"):
            pytest.fail("chromium and chromedriver are required in CI (.ci/run installs them)")
        pytest.skip("chromium/chromedriver not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager go to the network
    drivers = []

    def make(width=1000, height=1150):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", f"--window-size={width},{height}",
                     f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path)}", "--lang=ru-RU"):
            options.add_argument(flag)
        options.add_experimental_option("prefs", {"intl.accept_languages": "ru-RU,ru"})  # Russian first
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(30)
        if width < 500:  # headless windows are at least 500 px wide: emulate the phone's viewport instead
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True})
        drivers.append(driver)
        return driver

    yield make
    for driver in drivers:
        driver.quit()


@pytest.fixture
def web(services, settings, database):
    """The web process, plus what the redirect's install check needs: the YCLIENTS sandbox and a worker on the
    `interactive` queue only (every other message stays queued, for the tests to read)."""
    port, yclients_port = free_port(), free_port()
    app_settings = settings.replace(public_base_url=f"http://127.0.0.1:{port}",
                                    yclients_api_url=f"http://127.0.0.1:{yclients_port}")
    sandbox = services("yclients-sandbox", [str(BIN / "python"), "-m", "sandbox.yclients", "serve", "--port",
                                            str(yclients_port)], app_settings)
    proc = services("web", [str(BIN / "gunicorn"), "--worker-class", "gthread", "--workers", "1", "--threads", "32",
                            "--graceful-timeout", "3", "--bind", f"127.0.0.1:{port}", "web:create_app()"], app_settings)
    services("worker", [str(BIN / "dramatiq"), "workers.main", "--skip-logging", "--processes", "1", "--threads", "2",
                        "--queues", "interactive"], app_settings, env={"dramatiq_worker_timeout": "100"})
    sandbox.wait_http(f"http://127.0.0.1:{yclients_port}/healthz")
    proc.wait_http(f"http://127.0.0.1:{port}/healthz")
    return f"http://127.0.0.1:{port}", app_settings


def redirect_url(base, app_settings, salon_ids=(962302,), user=None, **kw) -> str:
    """«Подключить» pressed in the YCLIENTS sandbox (the branches are pending there now, as YCLIENTS would
    have them), then our redirect signed for `user`."""
    press_connect(app_settings.yclients_api_url, tuple(salon_ids))
    return f"{base}/auth/yclients/redirect?{signed_query(app_settings.yclients_partner_token, salon_ids, user, **kw)}"


@pytest.fixture
def live(redis_client):
    return LiveStatus(redis_client)


def svg_matrix(svg: str) -> list[list[bool]]:
    """Rasterise qrcode's SVG (unit squares as rects or path segments) back into a module matrix."""
    root = ElementTree.fromstring(svg)
    cells: set[tuple[int, int]] = set()
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "rect" and element.get("width", "").startswith("1"):
            cells.add((int(float(element.get("x").rstrip("m"))), int(float(element.get("y").rstrip("m")))))
        elif tag == "path":
            for x, y in re.findall(r"M(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)H", element.get("d", "")):
                cells.add((int(float(x)), int(float(y))))
    size = int(float(root.get("width").rstrip("m")))
    return [[(x, y) in cells for x in range(size)] for y in range(size)]


def payload_matrix(payload: str) -> list[list[bool]]:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, border=4)
    qr.add_data(payload)
    qr.make(fit=True)
    return qr.get_matrix()


def shown_svg(driver) -> str:
    src = driver.find_element("id", "qr-image").get_attribute("src")
    prefix = "data:image/svg+xml;charset=utf-8,"
    assert src.startswith(prefix)
    return unquote(src[len(prefix):])


def step_class(driver, step: str) -> str:
    return driver.find_element("css selector", f'#steps li[data-step="{step}"]').get_attribute("class")


def queued(redis_client, queue: str) -> list[dict]:
    """Messages the web process enqueued (no worker runs in this test)."""
    raw = redis_client.hvals(f"dramatiq:{queue}.msgs")
    return [json.loads(m) for m in raw]


def csp_violations(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]]


def test_the_owner_follows_the_redirect_and_watches_every_step_live(web, browser_factory, live, redis_client):
    base, app_settings = web
    driver = browser_factory()
    user = {**SAMPLE_USER, "salon_name": SALON_NAME}
    driver.get(redirect_url(base, app_settings, (SALON,), user))

    # The link token was exchanged for a cookie and left the address bar.
    until(driver, lambda: driver.current_url == f"{base}/marketplace/onboarding", "the clean onboarding URL")
    cookie = driver.get_cookie(session.COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert text(driver, "salon-name") == SALON_NAME
    assert [m["args"] for m in queued(redis_client, "whatsapp")] == [[SALON]]  # start_whatsapp_session
    until(driver, lambda: driver.find_element("tag name", "body").get_attribute("data-transport") == "websocket",
          "the websocket to connect")

    # The QR as the bridge publishes it: the SVG shown decodes to the published payload.
    live.publish(SALON, "qr", {"payload": PAYLOAD, "svg": render_svg(PAYLOAD), "expires_in": 60})
    until(driver, lambda: driver.find_element("id", "qr-image").is_displayed(), "the QR image")
    assert svg_matrix(shown_svg(driver)) == payload_matrix(PAYLOAD)
    until(driver, lambda: re.search(r"через (\d+) сек", text(driver, "qr-countdown")), "the QR countdown")
    assert int(re.search(r"через (\d+) сек", text(driver, "qr-countdown")).group(1)) <= 60

    # A new QR replaces the old one.
    second = PAYLOAD.replace("Xo3s", "Zz9s")
    live.publish(SALON, "qr", {"payload": second, "svg": render_svg(second), "expires_in": 20})
    until(driver, lambda: svg_matrix(shown_svg(driver)) == payload_matrix(second), "the refreshed QR")

    # The pairing tab: a phone typed the Russian way, the code requested, shown large as XXXX-XXXX.
    driver.find_element("id", "tab-pairing").click()
    phone = driver.find_element("id", "phone")
    phone.send_keys("8 (900) 123-45-67")
    driver.find_element("id", "pairing-submit").click()
    until(driver, lambda: any(m["actor_name"] == "request_pairing_code" for m in queued(redis_client, "whatsapp")),
          "the pairing-code request to be enqueued")
    request = [m for m in queued(redis_client, "whatsapp") if m["actor_name"] == "request_pairing_code"][0]
    assert request["args"] == [SALON, "79001234567"]
    live.publish(SALON, "pairing_code", {"code": "5WJT1N7D", "expires_in": 60})
    until(driver, lambda: text(driver, "pairing-code") == "5WJT-1N7D", "the pairing code")
    # Another QR (the QR countdown) must not kill the code the owner is typing (incident I-8).
    live.publish(SALON, "qr", {"payload": PAYLOAD, "svg": render_svg(PAYLOAD), "expires_in": 20})
    driver.find_element("id", "tab-qr").click()
    until(driver, lambda: svg_matrix(shown_svg(driver)) == payload_matrix(PAYLOAD), "the third QR")
    driver.find_element("id", "tab-pairing").click()
    assert text(driver, "pairing-code") == "5WJT-1N7D"
    assert "действует" in text(driver, "pairing-countdown")
    assert not [m for m in queued(redis_client, "whatsapp") if m["actor_name"] == "restart_linking"]

    # Connected, activation, sync progress, welcome, done: each reflected as it is published.
    live.publish(SALON, "whatsapp_connected", {"phone": "79001234567"}, state="whatsapp_connected")
    until(driver, lambda: "done" in step_class(driver, "whatsapp"), "WhatsApp connected")
    until(driver, lambda: not driver.find_element("id", "link").is_displayed(), "the linking panel to close")
    assert "+7900***67" in driver.find_element("id", "steps").text  # the number is shown masked
    assert "79001234567" not in driver.page_source
    live.publish(SALON, "activation", {"status": "started"}, state="activating")
    until(driver, lambda: "current" in step_class(driver, "activation"), "activation started")
    live.publish(SALON, "activation", {"status": "done"}, state="active")
    until(driver, lambda: "done" in step_class(driver, "activation"), "activation done")
    live.publish(SALON, "sync", {"status": "running", "entity": "clients", "done": 120, "total": 1422,
                                 "percent": 14})
    until(driver, lambda: text(driver, "sync-label") == "Загрузка данных: 14 %", "sync progress")
    assert "Сейчас: Клиенты, 120 из 1422" in text(driver, "sync-box")
    progress = driver.find_element("id", "sync-progress")
    assert progress.get_attribute("value") == "14" and progress.get_attribute("max") == "100"
    live.publish(SALON, "sync", {"status": "done", "entity": "records", "done": 40, "total": 40})
    until(driver, lambda: "done" in step_class(driver, "sync"), "sync done")
    live.publish(SALON, "welcome", {"status": "sent"})
    until(driver, lambda: "done" in step_class(driver, "welcome"), "welcome sent")
    live.publish(SALON, "complete", {})
    until(driver, lambda: driver.find_element("id", "done").is_displayed(), "the completion panel")
    assert "Готово" in text(driver, "done")
    assert driver.find_element("tag name", "body").text.count("Готово") == 1
    assert csp_violations(driver) == []


def test_link_expiry_offers_a_new_code_and_the_page_falls_back_to_polling(web, browser_factory, live, redis_client):
    import websocket

    base, app_settings = web
    driver = browser_factory()
    driver.get(redirect_url(base, app_settings, (SALON,), {**SAMPLE_USER, "salon_name": SALON_NAME}))
    until(driver, lambda: driver.find_element("tag name", "body").get_attribute("data-transport") == "websocket",
          "the websocket")
    live.publish(SALON, "error", {"code": "link_expired", "message": "Время на привязку истекло."})
    button = driver.find_element("id", "error-action")
    until(driver, lambda: button.is_displayed() and button.text == "Получить новый код", "the new-code button")
    assert "Время на привязку истекло." in text(driver, "error")
    button.click()
    until(driver, lambda: [m["args"] for m in queued(redis_client, "whatsapp") if m["actor_name"] == "restart_linking"]
          == [[SALON]], "restart_linking to be enqueued")
    live.publish(SALON, "qr", {"payload": PAYLOAD, "svg": render_svg(PAYLOAD), "expires_in": 60})
    until(driver, lambda: not driver.find_element("id", "error").is_displayed(), "the error to give way to the QR")

    # Take every socket slot this address has: the page's websocket is refused and it polls instead.
    token = tokens.issue(app_settings.jwt_secret, tokens.SESSION, [SALON], 1)
    host = base.removeprefix("http://")
    hogs = [websocket.create_connection(f"ws://{host}/marketplace/ws", header=[f"Cookie: {session.COOKIE}={token}"],
                                        timeout=5) for _ in range(10)]
    try:
        driver.refresh()
        until(driver, lambda: driver.find_element("tag name", "body").get_attribute("data-transport") == "polling",
              "the page to fall back to polling")
        live.publish(SALON, "whatsapp_connected", {"phone": "79001234567"}, state="whatsapp_connected")
        until(driver, lambda: "done" in step_class(driver, "whatsapp"), "connected, seen by polling", timeout=15)
        # Redis loses the snapshot: its seq counter begins again below what the page has seen. The page
        # must show the new truth, whether it is still polling (a polled snapshot is authoritative) or
        # back on the websocket by now (the socket resends a seq-0 snapshot when the seq goes back).
        redis_client.delete(snapshot_key(SALON))
        live.publish(SALON, "whatsapp_connected", {"phone": "79001234567"}, state="whatsapp_connected")
        live.publish(SALON, "activation", {"status": "done"}, state="active")
        until(driver, lambda: "done" in step_class(driver, "activation"), "activation after a Redis restart",
              timeout=15)
    finally:
        for ws in hogs:
            ws.close()
    until(driver, lambda: driver.find_element("tag name", "body").get_attribute("data-transport") == "websocket",
          "the websocket to come back", timeout=30)


def test_on_a_phone_sized_screen_the_pairing_tab_comes_first_and_nothing_overflows(web, browser_factory):
    base, app_settings = web
    driver = browser_factory(360, 740)
    driver.get(redirect_url(base, app_settings, (SALON,), {**SAMPLE_USER, "salon_name": SALON_NAME}))
    until(driver, lambda: driver.find_element("id", "tab-pairing").get_attribute("aria-selected") == "true",
          "the pairing tab to be the default")
    assert driver.find_element("id", "panel-pairing").is_displayed()
    assert not driver.find_element("id", "panel-qr").is_displayed()
    assert driver.execute_script("return window.innerWidth") == 360
    assert driver.execute_script("return document.documentElement.scrollWidth") <= 360
    # Keyboard: the tabs switch with the arrow keys, and the phone field has a label.
    from selenium.webdriver.common.keys import Keys

    driver.find_element("id", "tab-pairing").send_keys(Keys.ARROW_LEFT)
    until(driver, lambda: driver.find_element("id", "tab-qr").get_attribute("aria-selected") == "true", "arrow keys")
    assert driver.find_element("css selector", 'label[for="phone"]').get_attribute("textContent")
    assert driver.find_element("id", "status").get_attribute("aria-live") == "polite"


def test_each_branch_of_a_multi_branch_install_connects_on_its_own(web, browser_factory, live, redis_client):
    base, app_settings = web
    driver = browser_factory()
    user = {**SAMPLE_USER, "salon_name": "Сеть «Локон» — Центр"}
    driver.get(redirect_url(base, app_settings, (970001, 970002), user, form="indexed"))
    until(driver, lambda: driver.find_element("tag name", "body").get_attribute("data-transport") == "websocket",
          "the websocket")
    assert sorted(m["args"][0] for m in queued(redis_client, "whatsapp")) == [970001, 970002]
    picker = driver.find_element("id", "branch-picker")
    assert picker.is_displayed()
    live.publish(970002, "whatsapp_connected", {"phone": "79005556677"}, state="whatsapp_connected")
    # A QR for 970001 whose countdown runs out: the page shows it refreshing and never asks for a restart itself.
    live.publish(970001, "qr", {"payload": PAYLOAD, "svg": render_svg(PAYLOAD), "expires_in": 1})
    until(driver, lambda: text(driver, "qr-countdown") == "QR-код обновляется…", "the QR countdown to run out")
    assert "current" in step_class(driver, "whatsapp")  # branch 970001 is still linking
    from selenium.webdriver.support.ui import Select

    Select(picker).select_by_value("970002")
    until(driver, lambda: text(driver, "salon-id") == "970002", "branch 970002 selected")
    until(driver, lambda: "done" in step_class(driver, "whatsapp"), "branch 970002 connected")
    Select(picker).select_by_value("970001")
    until(driver, lambda: "current" in step_class(driver, "whatsapp"), "branch 970001 still linking")
    assert {m["actor_name"] for m in queued(redis_client, "whatsapp")} == {"start_whatsapp_session"}
