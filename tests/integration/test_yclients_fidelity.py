"""Issue 15 over real processes: a Dramatiq worker and `aiadmin` against the YCLIENTS sandbox over HTTP,
which fails the way YCLIENTS does (403 without the right X-Partner-Id, no total_count, offset-less times)."""
import datetime as dt
import json
import subprocess

import pytest
import requests

from models import salon as S
from models.company import Company
from models.failure import Failure
from models.salon import Salon
from models.schedule import StaffSchedule
from models.synced import Record
from models.sync_run import DONE, SyncRun
from models.timeline import TimelineEvent
from sandbox.yclients.data import URAL, Catalog
from tests.integration.pipeline_stack import Stack
from tests.support import BIN, ROOT, free_port, settings_env, wait_for
from workers.sync.salon_sync import records_window

pytestmark = pytest.mark.integration

SMALL = 962302


def fresh(database):
    """Re-open the test's connection so it sees what the worker processes committed."""
    database.close()
    database.connect()


def aiadmin(settings, *argv, input_text=None):
    env = {**settings_env(settings), "PATH": str(BIN)}
    return subprocess.run([str(BIN / "aiadmin"), *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=90, input=input_text)


def active(salon_id, title=""):
    Salon.create(salon_id=salon_id, state=S.ACTIVE, whatsapp_phone="79001234567", whatsapp_state=S.WA_CONNECTED,
                 title=title or f"Салон {salon_id}")


def last_run(database, salon_id):
    fresh(database)
    return SyncRun.select().where(SyncRun.salon_id == salon_id).order_by(SyncRun.id.desc()).first()


def done(database, salon_id, runs=1):
    fresh(database)
    return SyncRun.select().where((SyncRun.salon_id == salon_id) & (SyncRun.status == DONE)).count() >= runs


def test_a_403_from_yclients_is_a_named_failure_and_requeued_to_success_after_the_fix(services, settings,
                                                                                      database):
    # The sandbox expects partner id 4242; our worker is configured with the wrong one (settings' "1").
    stack = Stack(services, settings.replace(yclients_partner_id="1"))
    stack.sandbox.stop()
    port = stack.sandbox_url.rsplit(":", 1)[1]
    stack.sandbox = services("yclients-sandbox-4242", [str(BIN / "python"), "-m", "sandbox.yclients", "serve",
                                                       "--port", port], stack.settings,
                             env={"YCLIENTS_SANDBOX_PARTNER_ID": "4242"})
    stack.sandbox.wait_http(f"{stack.sandbox_url}/healthz")
    active(SMALL)
    wrong = stack.worker("wrong-partner-id", queues=("sync",))
    stack.jobs.send("sync_salon", SMALL, "full")

    def failed():
        answer = aiadmin(stack.settings, "failed", "--json", "--salon", str(SMALL))
        assert answer.returncode == 0, answer.stderr
        return [row for row in json.loads(answer.stdout) if row["actor"] == "sync_salon"]

    [row] = wait_for(failed, timeout=90, interval=0.5, message=f"the failed sync\n{stack.logs()}")
    assert "YCLIENTS не дал доступ к клиентам: 403 Нет прав на управление компанией" in row["error"]
    assert row["status"] == "open" and row["attempts"] == 1  # permanent: not retried for minutes
    assert last_run(database, SMALL).error.startswith("YCLIENTS не дал доступ к клиентам")
    human = aiadmin(stack.settings, "failed", "--salon", str(SMALL)).stdout
    assert "YCLIENTS не дал доступ к клиентам" in human

    # The fix: the right YCLIENTS_PARTNER_ID, deployed (a new worker), then support re-queues.
    wrong.stop()
    stack.workers.remove(wrong)
    stack.settings = stack.settings.replace(yclients_partner_id="4242")
    stack.worker("right-partner-id", queues=("sync",))
    requeued = aiadmin(stack.settings, "requeue", str(row["id"]))
    assert requeued.returncode == 0 and f"re-queued failure {row['id']}" in requeued.stdout
    wait_for(lambda: done(database, SMALL), timeout=120, interval=0.5, message=f"the sync\n{stack.logs()}")
    wait_for(lambda: Failure.get_by_id(row["id"]).status == "resolved", timeout=20, message="resolved")
    assert Salon.get_by_id(SMALL).title == "KULTURA Малаховка"  # the company card, not «Салон 962302»


def test_a_yekaterinburg_salon_without_total_count_and_offsets_syncs_exactly(services, settings, database):
    stack = Stack(services, settings)
    stack.faults(omit_total_count=True, naive_datetimes=True)
    active(URAL)
    stack.worker(queues=("sync",))
    stack.jobs.send("sync_salon", URAL, "full")
    wait_for(lambda: done(database, URAL), timeout=120, interval=0.3, message=f"sync\n{stack.logs()}")
    company = Company.get_by_id(URAL)
    assert (company.timezone, company.city, Salon.get_by_id(URAL).title) == (
        "Asia/Yekaterinburg", "Екатеринбург", "Студия «Урал»")
    start, end = records_window(stack.settings, dt.datetime.now(dt.timezone.utc).astimezone(
        __import__("zoneinfo").ZoneInfo("Asia/Yekaterinburg")).date())
    expected = stack.digest(URAL, start, end)
    assert Record.select().where(Record.salon_id == URAL).count() == expected["counts"]["records"]
    # The sandbox spreads the 120 records over [its today - 30 d, + 90 d), today being its (UTC) date; from 19:00 UTC
    # the salon's own today is a day later, and so is its window: the day at the start drops out.
    assert expected["counts"]["records"] >= 120 - 2
    data = Catalog().get(URAL)
    inside = list(data.record_range(dt.date.fromisoformat(start), dt.date.fromisoformat(end)))
    for index in (inside[0], inside[len(inside) // 2], inside[-1]):
        item = data.record(index)
        wall = dt.datetime.fromisoformat(item["datetime"][:19])  # what the sandbox sent, without offset
        assert Record.get(Record.yclients_id == item["id"]).datetime == wall - dt.timedelta(hours=5)
    # After the full sync the worker synced the staff schedules too (hourly afterwards, by the clock).
    wait_for(lambda: StaffSchedule.select().where(StaffSchedule.salon_id == URAL).count() == 3 * 30, timeout=60,
             message=f"schedules\n{stack.logs()}")
    day = StaffSchedule.select().where(StaffSchedule.working == True).first()  # noqa: E712
    assert day.intervals and day.starts_at.hour == int(day.intervals[0][0][:2]) - 5


def test_a_record_deleted_then_synced_stays_deleted(services, settings, database):
    web_port = free_port()
    stack = Stack(services, settings.replace(public_base_url=f"http://127.0.0.1:{web_port}"))
    web = services("web", [str(BIN / "gunicorn"), "--worker-class", "gthread", "--workers", "1", "--threads", "4",
                           "--bind", f"127.0.0.1:{web_port}", "web:create_app()"], stack.settings)
    web.wait_http(f"http://127.0.0.1:{web_port}/healthz")
    key = "ef" * 24
    Salon.create(salon_id=URAL, state=S.ACTIVE, api_key="c" * 32, webhook_key=key, whatsapp_phone="79001234567")
    requests.get(f"{stack.sandbox_url}/connect", params={"salon_id": URAL}, allow_redirects=False, timeout=10)
    answer = requests.post(f"{stack.sandbox_url}/marketplace/partner/callback/redirect",
                           headers={"Authorization": f"Bearer {settings.yclients_partner_token}"},
                           json={"salon_id": URAL, "application_id": settings.yclients_app_id, "api_key": "c" * 32,
                                 "webhook_urls": [f"{stack.settings.public_base_url}/webhook/yclients/{key}"]},
                           allow_redirects=False, timeout=10)
    assert answer.status_code == 301
    stack.worker(queues=("sync", "webhooks"))
    stack.jobs.send("sync_salon", URAL, "full")
    wait_for(lambda: done(database, URAL), timeout=120, interval=0.3, message=f"sync\n{stack.logs()}")
    synced = Record.select().where(Record.salon_id == URAL).count()  # the salon's window of the 120 (see above)
    data = Catalog().get(URAL)
    by_webhook, silently = data.record(60)["id"], data.record(61)["id"]

    sent = requests.post(f"{stack.sandbox_url}/_sandbox/salons/{URAL}/records/{by_webhook}/delete",
                         json={"webhook": True}, timeout=30).json()
    assert sent["status"] == 200, sent
    wait_for(lambda: fresh(database) or Record.get(Record.yclients_id == by_webhook).deleted, timeout=30,
             message=f"the delete webhook applied\n{stack.logs()}")
    # A second record is deleted in YCLIENTS without a webhook: the incremental sync learns it (with_deleted).
    requests.post(f"{stack.sandbox_url}/_sandbox/salons/{URAL}/records/{silently}/delete", timeout=30)
    stack.jobs.send("sync_salon", URAL, "incremental")
    wait_for(lambda: done(database, URAL, runs=2), timeout=120, interval=0.3, message=f"incremental\n{stack.logs()}")
    fresh(database)
    assert Record.get(Record.yclients_id == silently).deleted is True

    stack.jobs.send("sync_salon", URAL, "full")  # the nightly reconcile
    wait_for(lambda: done(database, URAL, runs=3), timeout=120, interval=0.3, message=f"full\n{stack.logs()}")
    fresh(database)
    assert Record.get(Record.yclients_id == by_webhook).deleted is True
    assert Record.get(Record.yclients_id == silently).deleted is True
    assert Record.select().where((Record.salon_id == URAL) & (Record.deleted == False)).count() == synced - 2  # noqa: E712


def test_aiadmin_disconnect_uninstalls_in_yclients_then_locally_and_is_idempotent(services, settings, database):
    sim_port = free_port()
    stack = Stack(services, settings)
    stack.settings = stack.settings.replace(waha_url=f"http://127.0.0.1:{sim_port}")
    sim = services("whatsapp-sim", [str(BIN / "python"), "-m", "sandbox.whatsapp", "serve", "--port",
                                    str(sim_port)], stack.settings)
    sim.wait_http(f"http://127.0.0.1:{sim_port}/healthz")
    Salon.create(salon_id=SMALL, state=S.ACTIVE, api_key="c" * 32, webhook_key="ab" * 24,
                 whatsapp_phone="79001234567", whatsapp_state=S.WA_CONNECTED)
    requests.get(f"{stack.sandbox_url}/connect", params={"salon_id": SMALL}, allow_redirects=False, timeout=10)
    requests.post(f"{stack.sandbox_url}/marketplace/partner/callback/redirect",
                  headers={"Authorization": f"Bearer {settings.yclients_partner_token}"},
                  json={"salon_id": SMALL, "application_id": settings.yclients_app_id, "api_key": "c" * 32,
                        "webhook_urls": ["http://127.0.0.1:5000/webhook/yclients/x"]},
                  allow_redirects=False, timeout=10)

    refused = aiadmin(stack.settings.replace(yclients_partner_token="not-our-token"), "disconnect", str(SMALL),
                      "--yes")
    assert refused.returncode == 1 and "YCLIENTS refused the uninstall" in refused.stderr
    aborted = aiadmin(stack.settings, "disconnect", str(SMALL), input_text="1\n")
    assert aborted.returncode == 1 and "aborted" in aborted.stderr
    fresh(database)
    assert Salon.get_by_id(SMALL).state == S.ACTIVE
    assert stack.installs()["salons"][str(SMALL)]["status"] == "active"

    first = aiadmin(stack.settings, "disconnect", str(SMALL), "--json", input_text=f"{SMALL}\n")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout.splitlines()[-1]) == {"salon_id": SMALL, "yclients": "uninstalled",
                                                         "local": "applied", "detail": "active -> uninstalled"}
    entry = stack.installs()["salons"][str(SMALL)]
    assert entry["status"] == "uninstalled" and entry["logs"][-1]["source"] == "partner_api"
    fresh(database)
    salon = Salon.get_by_id(SMALL)
    assert salon.state == S.UNINSTALLED and salon.api_key is None
    kinds = [e.kind for e in TimelineEvent.select().where(TimelineEvent.salon_id == SMALL).order_by(TimelineEvent.id)]
    assert kinds[-2:] == ["yclients_uninstalled", "uninstalled"]

    again = aiadmin(stack.settings, "disconnect", str(SMALL), "--yes", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["yclients"] == "already_uninstalled" and json.loads(again.stdout)["local"] == "noop"
    assert aiadmin(stack.settings, "disconnect", "123", "--yes").returncode == 1  # an unknown salon


def test_without_total_count_every_page_is_read_until_a_short_or_empty_one(services, settings, database):
    from tests.fakes.digest import db_digest

    stack = Stack(services, settings)
    stack.faults(omit_total_count=True)  # 1,400 clients = 7 full pages, then an empty one; 4,000 records
    active(SMALL)
    stack.worker(queues=("sync",))
    stack.jobs.send("sync_salon", SMALL, "full")
    wait_for(lambda: done(database, SMALL), timeout=180, interval=0.5, message=f"sync\n{stack.logs()}")
    fresh(database)
    expected = stack.digest(SMALL, *records_window(stack.settings))
    assert db_digest(SMALL) == expected and expected["counts"]["clients"] == 1400
    assert stack.stats()["by_path"]["/api/v1/company/<int:salon_id>/clients/search"] == 8


def test_the_welcome_names_the_salon_from_its_yclients_card(services, settings, database):
    from models.outbound import OutboundMessage

    stack = Stack(services, settings)
    active(SMALL, title=f"Салон {SMALL}")  # the redirect's placeholder; no sync has run yet
    stack.worker(queues=("onboarding",))
    stack.jobs.send("send_welcome", SMALL)
    wait_for(lambda: fresh(database) or OutboundMessage.select().exists(), timeout=60, interval=0.3,
             message=f"the welcome\n{stack.logs()}")
    text = OutboundMessage.get().text
    assert "«KULTURA Малаховка»" in text and f"Салон {SMALL}" not in text


def test_refused_tokenless_webhooks_never_block_yclients_lifecycle_webhooks(services, settings, database):
    from models.webhook_delivery import WebhookDelivery

    web_port = free_port()
    stack = Stack(services, settings.replace(public_base_url=f"http://127.0.0.1:{web_port}"))
    web = services("web", [str(BIN / "gunicorn"), "--worker-class", "gthread", "--workers", "1", "--threads", "4",
                           "--bind", f"127.0.0.1:{web_port}", "web:create_app()"], stack.settings)
    web.wait_http(f"http://127.0.0.1:{web_port}/healthz")
    active(SMALL)
    shared = f"{stack.settings.public_base_url}/webhook/yclients"

    def send(**body):
        return requests.post(f"{stack.sandbox_url}/_sandbox/webhooks", json={"salon_id": SMALL, **body},
                             timeout=30).json()

    # YCLIENTS posts data webhooks without a token to the shared URL (from its own address): refused...
    statuses = [send(kind="record", status="update", resource_id=SMALL * 10_000_000 + 1, url=shared)["status"]
                for _ in range(33)]
    assert statuses == [401] * 30 + [429] * 3
    # ...yet its lifecycle webhook from that same address, with the partner token, is accepted.
    answer = send(kind="freeze")
    assert answer["status"] == 200, answer
    fresh(database)
    assert [d.event for d in WebhookDelivery.select()] == ["freeze"]
