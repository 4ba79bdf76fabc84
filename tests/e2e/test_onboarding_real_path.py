"""The whole real path in Chromium: the sandbox marketplace's «Подключить», our redirect, the QR from the
WhatsApp simulator, the scan, activation in the YCLIENTS sandbox, the welcome and the full sync, with
every process real (tests.integration.faults_stack). At each moment the page's words must be true:
«Готово» appears only once the data is all in and the welcome has gone out."""
from __future__ import annotations

import os

import pytest

from tests.e2e.browser_support import (assert_accessible, assert_in_view, browser_available, make_driver, text,
                                       until, visible)
from tests.integration.faults_stack import SALON, faulty_stack

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def test_from_the_marketplace_button_to_done_every_word_is_true_when_shown(migrated_db_url, database, tmp_path):
    if not browser_available():
        if os.environ.get("CI"):
            pytest.fail("chromium and chromedriver are required in CI")
        pytest.skip("chromium/chromedriver not installed")
    with faulty_stack(migrated_db_url, database) as f:
        f.start()
        driver = make_driver(1280, 800, str(tmp_path / "profile"))
        try:
            driver.get(f"{f.s.url('yclients')}/")
            driver.find_element("css selector", f"a[href='/connect?salon_id={SALON}']").click()
            until(driver, lambda: driver.current_url.endswith("/marketplace/onboarding"), f"the page\n{f.logs()}",
                  timeout=30)
            until(driver, lambda: visible(driver, "qr-image"), f"the QR from the simulator\n{f.logs()}", timeout=30)
            assert_in_view(driver, "qr-image", "qr-countdown")

            f.scan()
            seen_before_done = []

            def done_or_record():
                page = text(driver)
                if not visible(driver, "done"):
                    seen_before_done.append(page)
                    return False
                return True

            until(driver, done_or_record, f"the done screen\n{f.logs()}", timeout=120)
            early = [page for page in seen_before_done if "Готово" in page]
            assert early == [], early[0]  # never "done" while something is still happening
            # True at that moment: the sync is done and the welcome was sent.
            assert f.sync_done() and f.salon().welcome_sent_at is not None
            assert text(driver).count("Готово") == 1
            assert any("Интеграция активна — данные загружаются" in page or "Активируем" in page
                       for page in seen_before_done)
            assert "Приветственное сообщение отправлено" in text(driver, "done")
            assert driver.find_element("id", "done-back").get_attribute("href").startswith(f.s.url("yclients"))
            assert_in_view(driver, "done-title", "done-back")
            assert_accessible(driver)
        finally:
            driver.quit()
