"""Fault: the WhatsApp gateway is down when linking starts, then answers 5xx to the welcome send.

What protects us: `start_whatsapp_session` publishes `error {code: gateway_unavailable}` and raises, so
Dramatiq retries it until the gateway is back (then a QR replaces the error); the send moves its row
`pending -> sending` atomically before the call and back to `pending` on a 5xx, so retries deliver it
exactly once; the welcome row's unique key stops a second welcome.
"""
import json
import time

import pytest
import websocket

from models.outbound import SENT, OutboundMessage
from tests.integration.faults_stack import PHONE, faulty_stack
from tests.support import wait_for
from web.marketplace import session

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def first_ws_message(f, browser):
    cookie = browser.cookies.get(session.COOKIE)
    ws = websocket.create_connection(f"ws://127.0.0.1:{f.s.ports['web']}/marketplace/ws",
                                     header=[f"Cookie: {session.COOKIE}={cookie}"], timeout=10)
    try:
        return json.loads(ws.recv())
    finally:
        ws.close()


def test_gateway_down_at_link_start_is_shown_then_linking_resumes_and_a_5xx_send_is_delivered_once(
        migrated_db_url, database):
    with faulty_stack(migrated_db_url, database) as f:
        f.start()
        f.sim_faults(down=True)
        browser = f.redirect()

        def page_error():
            answer = f.status(browser)
            assert answer.status_code == 200, answer.text[:300]
            error = answer.json()["data"].get("error")
            return error if error and error.get("code") == "gateway_unavailable" else None

        error = wait_for(page_error, timeout=60, interval=1.0, message=f"gateway_unavailable\n{f.logs()}")
        assert "недоступен" in error["message"]  # a clear Russian sentence for the owner, not a code
        snapshot = first_ws_message(f, browser)  # the websocket tells a page that opens now the same
        assert snapshot["type"] == "snapshot" and snapshot["data"]["error"]["code"] == "gateway_unavailable"
        assert snapshot["data"]["qr"] is None

        f.sim_faults(down=False)  # the gateway is back: the retried start creates the session, a QR comes
        qr = f.wait_live("qr", timeout=90)
        assert qr["payload"]
        status = f.status(browser).json()
        assert status["data"]["qr"]["payload"] == qr["payload"]
        # The page orders slots by seq: the QR is newer than the old error, so the page shows the QR.
        assert status["slots"]["qr"]["seq"] > status["slots"]["error"]["seq"]

        f.sim_faults(send_5xx=2)  # the welcome's first two sends fail with 500
        f.scan()
        wait_for(lambda: len(f.sent()) == 1, timeout=120, interval=0.3, message=f"welcome delivered\n{f.logs()}")
        welcome = wait_for(lambda: (f.fresh(), OutboundMessage.get_or_none(OutboundMessage.status == SENT))[1],
                           timeout=30, message="welcome row sent")
        assert welcome.chat_id == f"{PHONE}@c.us"
        assert f.sim_faults_now().get("send_5xx") == 0  # both 5xx answers were really given
        wait_for(lambda: all(f.redis.llen(f"dramatiq:{q}") == 0 for q in ("onboarding", "outbound")), timeout=30,
                 message="queues drained")
        time.sleep(1.5)
        assert len(f.sent()) == 1, f.sent()  # both 5xx attempts were retried; nothing went out twice
        assert OutboundMessage.select().count() == 1
        assert f.salon().welcome_sent_at is not None
        assert f.live.snapshot(962302)["data"]["welcome"]["status"] == "sent"
