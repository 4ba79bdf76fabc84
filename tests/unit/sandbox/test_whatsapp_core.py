"""The simulator core behaves like WAHA/whatsmeow: QR timings on an injectable clock, codes, phones, credentials."""
import re

import pytest

from sandbox.whatsapp.core import SimCore, SimError, Unprocessable

QR_RE = re.compile(r"^https://wa\.me/settings/linked_devices#2@[^,]+(,[^,]+){3},1$")
CODE_RE = re.compile(r"^[1-9A-HJ-NP-TV-Z]{4}-[1-9A-HJ-NP-TV-Z]{4}$")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def core(clock):
    return SimCore(clock=clock)


def statuses(core, name="salon_1"):
    return [e["payload"]["status"] for e in core.events if e["event"] == "session.status" and e["session"] == name]


def test_a_new_session_shows_a_whatsmeow_shaped_qr(core):
    core.create("salon_1", {"metadata": {"salon.id": "1"}})
    assert statuses(core) == ["STARTING", "SCAN_QR_CODE"]
    assert QR_RE.match(core.current_qr("salon_1"))
    assert core.events[-1]["metadata"] == {"salon.id": "1"}


def test_six_refs_first_60s_then_five_times_20s_then_failed_at_160s(core, clock):
    core.create("salon_1", {})
    first = core.current_qr("salon_1")
    clock.now += 59.9
    assert core.current_qr("salon_1") == first  # still the first code
    seen = [first]
    for boundary in (60, 80, 100, 120, 140):
        clock.now = 1000.0 + boundary + 0.01
        qr = core.current_qr("salon_1")
        assert qr not in seen  # rotated exactly at the boundary
        seen.append(qr)
        clock.now = 1000.0 + boundary + 19.9
        assert core.current_qr("salon_1") == qr
    assert statuses(core) == ["STARTING"] + ["SCAN_QR_CODE"] * 6
    clock.now = 1000.0 + 160
    with pytest.raises(Unprocessable):
        core.current_qr("salon_1")
    assert statuses(core)[-1] == "FAILED"
    assert len(statuses(core)) == 8  # expiry announced once


def test_rotation_is_announced_by_tick_without_api_calls(core, clock):
    core.create("salon_1", {})
    clock.now += 61
    core.tick()
    core.tick()
    assert statuses(core) == ["STARTING", "SCAN_QR_CODE", "SCAN_QR_CODE"]


def test_a_stale_qr_scan_is_refused_and_the_current_one_links(core, clock):
    core.create("salon_1", {})
    stale = core.current_qr("salon_1")
    clock.now += 61
    with pytest.raises(SimError) as exc:
        core.scan("salon_1", "79001234567", stale)
    assert exc.value.status == 409
    core.scan("salon_1", "79001234567", core.current_qr("salon_1"))
    assert statuses(core)[-1] == "WORKING"
    assert core.events[-1]["me"] == {"id": "79001234567@c.us", "pushName": "Salon phone"}


def test_pairing_code_has_the_real_alphabet_and_only_while_a_qr_is_shown(core):
    core.create("salon_1", {}, start=False)
    with pytest.raises(Unprocessable):
        core.request_code("salon_1", "79001234567")
    core.start("salon_1")
    codes = {core.request_code("salon_1", "79001234567") for _ in range(50)}
    assert all(CODE_RE.match(c) for c in codes) and len(codes) > 40


@pytest.mark.parametrize("phone", ["123456", "0791234567", "7900-123", "", "abc"])
def test_pairing_code_phone_validation_follows_whatsmeow(core, phone):
    core.create("salon_1", {})
    with pytest.raises(SimError) as exc:
        core.request_code("salon_1", phone)
    assert exc.value.status == 400


def test_entering_the_code_links_with_the_requested_phone_and_a_wrong_code_is_refused(core):
    core.create("salon_1", {})
    code = core.request_code("salon_1", "79001234567")
    with pytest.raises(SimError):
        core.enter_code("salon_1", "1111-1111")
    with pytest.raises(SimError):
        core.enter_code("salon_1", code, phone="79990000000")
    core.enter_code("salon_1", code.replace("-", "").lower())
    assert core.sessions["salon_1"].status == "WORKING"
    assert core.sessions["salon_1"].creds_phone == "79001234567"


def test_pairing_code_dies_with_the_window(core, clock):
    core.create("salon_1", {})
    code = core.request_code("salon_1", "79001234567")
    clock.now += 160
    with pytest.raises(Unprocessable):
        core.enter_code("salon_1", code)


def test_stored_credentials_reconnect_after_stop_but_not_after_logout(core):
    core.create("salon_1", {})
    core.scan("salon_1", "79001234567")
    core.stop("salon_1")
    core.start("salon_1")
    assert statuses(core)[-3:] == ["STOPPED", "STARTING", "WORKING"]
    core.logout("salon_1")  # running: restarts from scratch, back to QR
    assert core.sessions["salon_1"].status == "SCAN_QR_CODE"
    assert core.sessions["salon_1"].creds_phone is None


def test_delete_removes_session_and_credentials(core):
    core.create("salon_1", {})
    core.scan("salon_1", "79001234567")
    core.delete("salon_1")
    core.create("salon_1", {})
    assert core.sessions["salon_1"].status == "SCAN_QR_CODE"


def test_creating_twice_is_422_already_exists(core):
    core.create("salon_1", {})
    with pytest.raises(Unprocessable, match="already exists"):
        core.create("salon_1", {})


def test_sends_are_recorded_and_need_a_working_session(core):
    core.create("salon_1", {})
    with pytest.raises(Unprocessable):
        core.send_text("salon_1", "79001234567@c.us", "hi")
    core.scan("salon_1", "79001234567")
    message = core.send_text("salon_1", "79001234567@c.us", "hi")
    assert message["id"].startswith("true_79001234567@c.us_")
    assert core.messages == [message]
    with pytest.raises(SimError):
        core.send_text("salon_1", "79001234567:13@c.us", "a device suffix is not a chat id")


def test_remote_logout_and_ban_fail_the_session_and_463_restricts_sends(core):
    core.create("salon_1", {})
    core.scan("salon_1", "79001234567")
    core.ban("salon_1", 463)
    with pytest.raises(SimError, match="463"):
        core.send_text("salon_1", "79001234567@c.us", "hi")
    core.remote_logout("salon_1")
    assert statuses(core)[-1] == "FAILED" and core.events[-1]["me"] is None
    core.start("salon_1")
    assert core.sessions["salon_1"].status == "SCAN_QR_CODE"  # credentials are gone


def test_incoming_messages_are_emitted_as_message_webhooks(core):
    core.create("salon_1", {})
    core.scan("salon_1", "79001234567")
    core.incoming("salon_1", "79110000000", "Хочу записаться")
    event = core.events[-1]
    assert event["event"] == "message"
    assert event["payload"]["from"] == "79110000000@c.us" and event["payload"]["fromMe"] is False
