"""The welcome: once per salon, to the salon's own number, Russian text with the salon's name; `complete` once."""
import datetime as dt

import pytest
from dramatiq.errors import Retry

from models import salon as S
from models.outbound import FAILED, SENT, OutboundMessage
from models.salon import Salon
from models.sync_run import DONE, RUNNING, SyncRun
from tests.fakes.pipeline import deps_for, make_salon
from workers.onboarding.completion import maybe_complete
from workers.onboarding.welcome import on_welcome_finished, send_welcome


def active_salon():
    salon = make_salon(state=S.ACTIVE, phone="79001234567", title="KULTURA Малаховка")
    Salon.update(activated_at=dt.datetime(2026, 1, 1, 12)).where(Salon.salon_id == salon.salon_id).execute()


def test_welcome_is_created_once_and_handed_to_the_sender_once(settings, database, redis_client):
    active_salon()
    deps = deps_for(settings, database, redis_client)
    first = send_welcome(962302, deps)
    with pytest.raises(Retry):  # a duplicate right after: come back later, never send twice
        send_welcome(962302, deps)
    assert OutboundMessage.select().count() == 1
    assert deps.jobs.calls() == [("send_whatsapp_text", first)]
    row = OutboundMessage.get_by_id(first)
    assert row.key == "welcome:962302" and row.chat_id == "79001234567@c.us"
    assert row.notify_actor == "on_welcome_finished"
    assert "KULTURA Малаховка" in row.text and "Поздравляем" in row.text and "+79001234567" in row.text


def test_a_stale_pending_welcome_is_handed_over_again(settings, database, redis_client):
    active_salon()
    deps = deps_for(settings, database, redis_client)
    row_id = send_welcome(962302, deps)
    OutboundMessage.update(created_at=dt.datetime(2020, 1, 1)).execute()
    assert send_welcome(962302, deps) == row_id
    assert deps.jobs.names() == ["send_whatsapp_text", "send_whatsapp_text"]


def test_a_welcome_already_sent_is_left_alone(settings, database, redis_client):
    active_salon()
    deps = deps_for(settings, database, redis_client)
    row_id = send_welcome(962302, deps)
    OutboundMessage.update(status=SENT).execute()
    assert send_welcome(962302, deps) == row_id
    assert deps.jobs.names() == ["send_whatsapp_text"]


def test_no_welcome_before_activation(settings, database, redis_client):
    make_salon(state=S.ACTIVATING)
    deps = deps_for(settings, database, redis_client)
    assert send_welcome(962302, deps) is None and OutboundMessage.select().count() == 0


def test_welcome_sent_marks_the_salon_publishes_and_completes_once(settings, database, redis_client):
    active_salon()
    deps = deps_for(settings, database, redis_client)
    row_id = send_welcome(962302, deps)
    SyncRun.create(salon_id=962302, status=RUNNING)
    OutboundMessage.update(status=SENT, sent_at=dt.datetime(2026, 1, 1, 12, 1)).execute()
    on_welcome_finished(row_id, deps)
    snap = deps.live.snapshot(962302)["data"]
    assert Salon.get_by_id(962302).welcome_sent_at == dt.datetime(2026, 1, 1, 12, 1)
    assert snap["welcome"] == {"status": "sent", "code": "welcome_sent"}
    assert snap["complete"]["sync_running"] is True
    seq = deps.live.snapshot(962302)["seq"]
    on_welcome_finished(row_id, deps)  # a duplicate notification
    SyncRun.update(status=DONE).execute()
    assert maybe_complete(962302, deps) is False  # complete is published once per activation
    assert deps.live.snapshot(962302)["data"]["complete"]["sync_running"] is True
    assert deps.live.snapshot(962302)["seq"] == seq + 1  # only the duplicate's welcome event


def test_a_failed_welcome_still_completes_and_says_so(settings, database, redis_client):
    active_salon()
    deps = deps_for(settings, database, redis_client)
    row_id = send_welcome(962302, deps)
    SyncRun.create(salon_id=962302, status=DONE)
    OutboundMessage.update(status=FAILED).execute()
    on_welcome_finished(row_id, deps)
    snap = deps.live.snapshot(962302)["data"]
    assert snap["welcome"] == {"status": "failed", "code": "welcome_failed"} and Salon.get_by_id(962302).welcome_sent_at is None
    assert snap["complete"]["sync_running"] is False and snap["complete"]["welcome"] == FAILED


def test_the_welcome_names_the_salon_by_the_card_the_install_check_read_without_asking_yclients(
        settings, database, redis_client):
    from models import install_check as ic
    from runtime.yclients.stub import StubYclients
    from workers.onboarding.install_check import check_install

    marketplace = StubYclients()
    marketplace.press_connect(962302)
    marketplace.load(962302, company={"title": "Салон «Пример»", "timezone_name": "Europe/Moscow"})
    ic.open_request(redis_client, "c1", [962302], "Салон «Пример»")
    check_install(marketplace, redis_client, "c1")
    active_salon()
    later = StubYclients()  # YCLIENTS at welcome time: any call would be logged (and wait behind a busy budget)
    row_id = send_welcome(962302, deps_for(settings, database, redis_client, later))
    assert later.calls == []
    assert "Салон «Пример»" in OutboundMessage.get_by_id(row_id).text
