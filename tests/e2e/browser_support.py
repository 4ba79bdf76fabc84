"""Chromium for the browser tests: a driver at an exact viewport, waits, visibility and viewport checks, axe-core."""
from __future__ import annotations

import os
import shutil

from tests.support import wait_for

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
PAYLOAD = "2@Xo3sYt8mK1vQ,Fq9hZ0bW3nR7uJ4lE2cA5dG6pT8yH1kL=,aBcDeFgHiJkLmNoPqRsTuVwXyZ012345678=,Zm9vYmFy"


def browser_available() -> bool:
    return os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)


def make_driver(width, height, profile, lang="ru"):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager go to the network
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--window-size={max(width, 500)},{height}",
                 f"--user-data-dir={profile}", f"--lang={'en-US' if lang == 'en' else 'ru-RU'}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en" if lang == "en" else "ru-RU,ru"})
    driver = webdriver.Chrome(service=DriverService(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    # A fixed viewport: headless windows are at least 500 px wide, and their chrome eats some height.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500})
    return driver


def body(driver):
    return driver.find_element("tag name", "body")


def text(driver, element_id=None) -> str:
    return driver.find_element("id", element_id).text if element_id else body(driver).text


def visible(driver, element_id) -> bool:
    return driver.find_element("id", element_id).is_displayed()


def until(driver, predicate, message, timeout=10):
    def check():
        try:
            return predicate()
        except Exception:  # the DOM is being re-rendered; look again
            return False

    try:
        return wait_for(check, timeout=timeout, interval=0.1, message=message)
    except TimeoutError:
        raise AssertionError(f"{message}; page said: {text(driver)[:1500]}")


def in_viewport(driver, element_id) -> bool:
    """The element is rendered and lies wholly inside the viewport, without scrolling."""
    return driver.execute_script("""
        var el = document.getElementById(arguments[0]);
        if (!el || el.hidden) return false;
        var r = el.getBoundingClientRect();
        return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 &&
               r.bottom <= window.innerHeight && r.right <= window.innerWidth && window.scrollY === 0;
    """, element_id)


def assert_in_view(driver, *element_ids):
    driver.execute_script("window.scrollTo(0, 0)")
    for element_id in element_ids:
        assert in_viewport(driver, element_id), f"#{element_id} is not inside the viewport"
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")


def assert_accessible(driver):
    from axe_selenium_python import Axe

    axe = Axe(driver)
    axe.inject()
    results = axe.run()
    bad = [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}" for v in results["violations"]
           if v["impact"] in ("serious", "critical")]
    assert bad == [], bad




def render_svg(payload: str) -> str:
    """What the bridge publishes (bridge/qr.py): qrcode's path SVG, error correction L, border 4."""
    import qrcode.image.svg

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, box_size=10, border=4,
                       image_factory=qrcode.image.svg.SvgPathImage)
    qr.add_data(payload)
    qr.make(fit=True)
    return qr.make_image().to_string(encoding="unicode")
