"""Marketplace entry v2 over real processes: gunicorn web, Dramatiq worker (the install check asks the YCLIENTS
sandbox over HTTP), bridge, WhatsApp simulator, Redis and the database.

Every press of «Подключить» goes through the YCLIENTS sandbox (`/connect`), which marks the branches pending
and signs user_data exactly like YCLIENTS; our redirect admits only what the application-status method confirms.
"""
import json
import time

import pytest
import requests
import websocket

from models import salon as S
from models.salon import Salon
from models.timeline import TimelineEvent
from tests.integration.faults_stack import SALON, faulty_stack
from tests.onboarding_support import is_checking_page, open_redirect, press_connect
from tests.support import wait_for
from web.marketplace import session

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ATTACKER_SALON = 997441  # the attacker's own salon in the sandbox; the victim is SALON (962302)


def gateway_sessions(f) -> set[str]:
    answer = requests.get(f"{f.s.url('whatsapp')}/api/sessions", params={"all": "true"},
                          headers={"X-Api-Key": f.settings.waha_api_key}, timeout=10)
    return {s["name"] for s in answer.json()}


def landed(page) -> bool:
    return page.status_code == 200 and page.url.endswith("/marketplace/onboarding")


def socket_of(f, browser):
    cookie = browser.cookies.get(session.COOKIE)
    return websocket.create_connection(f"ws://127.0.0.1:{f.s.ports['web']}/marketplace/ws",
                                       header=[f"Cookie: {session.COOKIE}={cookie}"], timeout=15)


def test_a_second_press_from_a_fresh_browser_a_second_later_lands_on_a_working_page(migrated_db_url, database):
    with faulty_stack(migrated_db_url, database) as f:
        f.start()
        first = f.redirect()
        time.sleep(1)
        second = requests.Session()  # another device: no cookie
        page = open_redirect(second, press_connect(f.s.url("yclients"), (SALON,)))
        assert landed(page), page.text[:300]
        assert f.status(second).status_code == 200 and f.status(first).status_code == 200
        qr = f.wait_live("qr", timeout=60)
        assert f.status(second).json()["data"]["qr"]["payload"] == qr["payload"]
        assert f.salon().state == S.PENDING_WHATSAPP and Salon.select().count() == 1


def test_someone_elses_valid_signature_with_a_foreign_salon_id_writes_nothing_anywhere(migrated_db_url, database):
    with faulty_stack(migrated_db_url, database) as f:
        f.start()
        f.redirect()  # the real installer of SALON is onboarding
        f.wait_live("qr", timeout=60)
        before = f.salon()
        before_events = TimelineEvent.select().count()
        # The attacker presses «Подключить» in their own salon, then swaps in the victim's id (and 50 made-up ones).
        own = press_connect(f.s.url("yclients"), (ATTACKER_SALON,), user_id=777, user_name="Чужой")
        forged = [own.replace(f"salon_id={ATTACKER_SALON}", f"salon_id={SALON}"),
                  own.replace(f"salon_id={ATTACKER_SALON}",
                              "&".join(f"salon_ids%5B{i}%5D={700000 + i}" for i in range(50)))]
        for url in forged:
            answer = open_redirect(requests.Session(), url)
            assert answer.status_code == 403 and not is_checking_page(answer), answer.text[:300]
            assert "Подключение не подтверждено" in answer.text
        f.fresh()
        assert [s.salon_id for s in Salon.select()] == [SALON]
        after = f.salon()
        assert (after.installer_id, after.installer_name, after.state, after.session_generation) == (
            before.installer_id, before.installer_name, before.state, before.session_generation)
        assert TimelineEvent.select().count() == before_events
        assert gateway_sessions(f) == {f"salon_{SALON}"}


def test_a_take_over_ends_the_first_installers_socket_and_cookie(migrated_db_url, database):
    with faulty_stack(migrated_db_url, database) as f:
        f.start()
        first = f.redirect()
        ws = socket_of(f, first)
        try:
            assert json.loads(ws.recv())["type"] == "snapshot"
            colleague = requests.Session()
            page = open_redirect(colleague, press_connect(f.s.url("yclients"), (SALON,), user_id=7654321,
                                                          user_name="Коллега"))
            assert landed(page), page.text[:300]

            def ended():
                message = json.loads(ws.recv())
                return message if message["type"] == "error" else None

            message = wait_for(ended, timeout=20, message="the session_ended error on the first socket")
            assert message["data"]["code"] == "session_ended" and message["data"]["message"]
        finally:
            ws.close()
        polled = f.status(first)
        assert polled.status_code == 401 and polled.json()["error"] == "session_ended"
        assert f.status(colleague).status_code == 200
        salon = f.salon()
        assert salon.installer_id == 7654321 and salon.session_generation == 1
        kinds = [e.kind for e in TimelineEvent.select().where(TimelineEvent.salon_id == SALON)]
        assert "onboarding_taken_over" in kinds


def test_yclients_status_method_down_says_try_again_and_writes_nothing(migrated_db_url, database):
    with faulty_stack(migrated_db_url, database) as f:
        f.start()
        f.sandbox_faults(status_answer=503)
        answer = open_redirect(requests.Session(), press_connect(f.s.url("yclients"), (SALON,)))
        assert answer.status_code < 500 and answer.headers["Retry-After"] == "60", answer.text[:300]
        assert "через минуту" in answer.text
        f.fresh()
        assert Salon.select().count() == 0 and TimelineEvent.select().count() == 0
        assert gateway_sessions(f) == set()
        f.sandbox_faults(status_answer=None)
        time.sleep(5.5)  # "unavailable" is remembered for 5 s at most
        assert landed(open_redirect(requests.Session(), press_connect(f.s.url("yclients"), (SALON,))))


def test_the_multi_branch_button_after_a_single_branch_press_shows_every_branch(migrated_db_url, database):
    with faulty_stack(migrated_db_url, database) as f:
        f.start()
        f.redirect(970001)
        browser = requests.Session()
        page = open_redirect(browser, press_connect(f.s.url("yclients"), (970001, 970002)))
        assert landed(page) and "970001" in page.text and "970002" in page.text
        for salon_id in (970001, 970002):
            answer = browser.get(f"{f.s.url('web')}/marketplace/status", params={"salon_id": salon_id}, timeout=10)
            assert answer.status_code == 200 and answer.json()["salon_id"] == salon_id


def test_uninstall_then_reinstall_within_a_minute_gets_a_new_qr_activation_and_welcome(migrated_db_url, database):
    with faulty_stack(migrated_db_url, database) as f:
        f.start()
        first = f.redirect()
        qr = f.wait_live("qr", timeout=60)
        f.scan()
        wait_for(lambda: len(f.sent()) == 1 and len(f.activations()) == 1, timeout=120, interval=0.5,
                 message=f"activation and welcome\n{f.logs()}")
        uninstalled_at = time.monotonic()
        answer = requests.post(f"{f.s.url('yclients')}/_sandbox/webhooks", json={"salon_id": SALON, "kind": "uninstall"},
                               timeout=20)
        assert answer.json()["status"] == 200, answer.text
        wait_for(lambda: f.salon().state == S.UNINSTALLED, timeout=30, message=f"uninstalled\n{f.logs()}")
        polled = f.status(first)
        assert polled.status_code == 401 and polled.json()["error"] == "session_ended"

        again = f.redirect()  # «Подключить» again, within the minute
        assert time.monotonic() - uninstalled_at < 60
        salon = f.salon()
        assert salon.state == S.PENDING_WHATSAPP and salon.session_generation == 2
        new_qr = f.wait_live("qr", lambda value: value is not None and value["payload"] != qr["payload"], timeout=60)
        assert f.status(again).json()["data"]["qr"]["payload"] == new_qr["payload"]
        f.scan()
        wait_for(lambda: len(f.sent()) == 2 and len(f.activations()) == 2, timeout=120, interval=0.5,
                 message=f"a second activation and welcome\n{f.logs()}")
        wait_for(lambda: f.salon().state == S.ACTIVE, timeout=30, message="active again")
