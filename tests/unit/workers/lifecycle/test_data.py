"""Data webhooks (newest change wins), the sweep of unenqueued deliveries, periodic fan-out, purge."""
import datetime

import pytest

from models import salon as s
from models.db import utcnow
from models.outbound import OutboundMessage
from models.salon import Salon
from models.sync_run import SyncRun
from models.synced import Client, Record, Service
from models.timeline import TimelineEvent
from models.webhook_delivery import WebhookDelivery
from runtime.gateway.stub import StubGateway
from runtime.stub_jobs import StubJobs
from tests.fakes.lifecycle import store
from workers.lifecycle import periodic
from workers.lifecycle.data import parse_time
from workers.lifecycle.deliveries import process_delivery, sweep_unprocessed
from workers.lifecycle.purge import UnknownSalon, purge_salon

SALON = 962302


@pytest.fixture
def salon(database):
    return Salon.create(salon_id=SALON, state=s.ACTIVE, webhook_key="k" * 40)


def record_event(status="update", record_id=1217405723, changed="2025-08-06T10:55:05+0300", **data):
    body = {"resource": "record", "status": status, "company_id": SALON, "resource_id": record_id,
            "data": {"id": record_id, "datetime": "2025-08-10T13:00:00+03:00", "staff_id": 7,
                     "client": {"id": 55, "name": "Анна", "phone": "79001234567"}, "seance_length": 3600,
                     "attendance": 0, "comment": "", "deleted": False, "last_change_date": changed, **data}}
    return body


def apply(body, database, **kwargs):
    return process_delivery(store(body, **kwargs).id, db=database, waha=StubGateway()).outcome


def the_record(record_id=1217405723):
    return Record.get(Record.salon_id == SALON, Record.yclients_id == record_id)


def test_a_record_create_is_upserted_with_its_fields(salon, database):
    assert apply(record_event("create"), database) == "applied"
    row = the_record()
    assert (row.staff_id, row.client_id, row.seance_length, row.deleted) == (7, 55, 3600, False)
    assert row.datetime == datetime.datetime(2025, 8, 10, 10, 0)  # naive UTC
    assert row.changed_at == datetime.datetime(2025, 8, 6, 7, 55, 5)


def test_the_same_record_update_delivered_three_times_is_one_change(salon, database):
    outcomes = [apply(record_event(comment="позже"), database) for _ in range(3)]
    assert outcomes == ["applied", "duplicate", "duplicate"]
    assert the_record().comment == "позже"


def test_an_out_of_order_older_update_is_ignored(salon, database):
    assert apply(record_event(changed="2025-08-06T12:00:00+0300", comment="new"), database) == "applied"
    assert apply(record_event(changed="2025-08-06T11:00:00+0300", comment="old"), database) == "stale"
    assert the_record().comment == "new"


def test_a_delete_wins_over_an_older_update_that_arrives_later(salon, database):
    apply(record_event("create", changed="2025-08-06T10:00:00+0300"), database)
    assert apply(record_event("delete", changed="2025-08-06T12:00:00+0300"), database) == "applied"
    assert apply(record_event("update", changed="2025-08-06T11:00:00+0300", comment="late"), database) == "stale"
    row = the_record()
    assert row.deleted is True and row.comment == ""


def test_a_delete_of_an_unknown_record_leaves_a_tombstone_that_an_older_create_cannot_revive(salon, database):
    assert apply(record_event("delete", record_id=9, changed="2025-08-06T12:00:00+0300"), database) == "applied"
    assert apply(record_event("create", record_id=9, changed="2025-08-06T09:00:00+0300"), database) == "stale"
    assert the_record(9).deleted is True


def test_without_a_change_stamp_the_receipt_time_orders_deliveries(salon, database):
    body = record_event()
    del body["data"]["last_change_date"]
    now = utcnow()
    assert apply({**body, "data": {**body["data"], "comment": "b"}}, database, received_at=now) == "applied"
    assert apply({**body, "data": {**body["data"], "comment": "a"}}, database,
                 received_at=now - datetime.timedelta(seconds=5)) == "stale"
    assert the_record().comment == "b"


def test_client_webhooks_upsert_clients(salon, database):
    body = {"resource": "client", "status": "create", "company_id": SALON, "resource_id": 55,
            "data": {"id": 55, "name": "Анна", "phone": "79001234567", "email": "a@example.com",
                     "visits_count": 3}}
    assert apply(body, database) == "applied"
    row = Client.get(Client.yclients_id == 55)
    assert (row.name, row.phone, row.visits_count) == ("Анна", "79001234567", 3)


def test_unknown_resources_are_stored_and_ignored(salon, database):
    body = {"resource": "finances_operation", "status": "create", "company_id": SALON, "resource_id": 1, "data": {}}
    assert apply(body, database) == "ignored"
    assert WebhookDelivery.get().processed_at is not None


def test_data_for_an_uninstalled_salon_is_ignored(salon, database):
    Salon.update(state=s.UNINSTALLED).execute()
    assert apply(record_event(), database) == "ignored"
    assert Record.select().count() == 0


@pytest.mark.parametrize("text, expected", [
    ("2025-08-06T13:55:05+0300", datetime.datetime(2025, 8, 6, 10, 55, 5)),
    ("2025-08-06T13:55:05+03:00", datetime.datetime(2025, 8, 6, 10, 55, 5)),
    ("2025-08-06T10:55:05Z", datetime.datetime(2025, 8, 6, 10, 55, 5)),
    ("garbage", None),
    (None, None),
    (12345, None),
])
def test_yclients_timestamps_become_naive_utc_as_in_the_full_sync(text, expected):
    assert parse_time(text) == expected


def test_the_sweep_re_enqueues_only_old_unprocessed_deliveries_and_only_once(salon, database):
    now = utcnow()
    old = store(record_event(), received_at=now - datetime.timedelta(minutes=5))
    fresh = store(record_event(comment="x"), received_at=now - datetime.timedelta(seconds=10))
    done = store(record_event(comment="y"), received_at=now - datetime.timedelta(minutes=5))
    WebhookDelivery.update(processed_at=now, outcome="applied").where(WebhookDelivery.id == done.id).execute()
    jobs = StubJobs()
    assert sweep_unprocessed(jobs, now=now) == 1
    assert jobs.named("process_webhook") == [((old.id,), None)] and len(jobs.sent) == 1
    assert sweep_unprocessed(jobs, now=now + datetime.timedelta(minutes=1)) == 1  # now `fresh` is old enough
    assert [sent.args for sent in jobs.sent] == [(old.id,), (fresh.id,)]


def test_only_active_salons_get_scheduled_syncs_and_full_ones_are_staggered(database):
    for salon_id, state in ((1, s.ACTIVE), (2, s.FROZEN), (3, s.UNINSTALLED), (4, s.ACTIVE),
                            (5, s.PENDING_WHATSAPP)):
        Salon.create(salon_id=salon_id, state=state)
    jobs = StubJobs()
    assert periodic.enqueue_syncs(jobs, "incremental") == 2
    assert jobs.named("sync_salon") == [((1, "incremental"), None), ((4, "incremental"), None)]
    jobs = StubJobs()
    periodic.enqueue_syncs(jobs, "full", stagger_ms=30_000)
    assert jobs.named("sync_salon") == [((1, "full"), None), ((4, "full"), 30_000)]


def test_purge_deletes_business_data_and_deliveries_but_keeps_the_salon_and_its_timeline(database):
    Salon.create(salon_id=SALON, state=s.UNINSTALLED, installer_phone="79001234567", installer_name="Иван")
    Salon.create(salon_id=2, state=s.ACTIVE)
    for salon_id in (SALON, 2):
        Record.create(salon_id=salon_id, yclients_id=1)
        Client.create(salon_id=salon_id, yclients_id=1)
        Service.create(salon_id=salon_id, yclients_id=1)
        SyncRun.create(salon_id=salon_id)
        OutboundMessage.create(salon_id=salon_id, key=f"welcome:{salon_id}", chat_id="x", text="hi")
        store({"resource": "record", "status": "update", "company_id": salon_id, "resource_id": 1})
    TimelineEvent.create(salon_id=SALON, kind="uninstalled")
    counts = purge_salon(SALON)
    assert counts["records"] == counts["clients"] == counts["services"] == counts["webhook_deliveries"] == 1
    assert counts["sync_runs"] == counts["outbound_messages"] == 1
    assert Record.select().where(Record.salon_id == SALON).count() == 0
    assert Record.select().where(Record.salon_id == 2).count() == 1  # other salons untouched
    row = Salon.get_by_id(SALON)
    assert (row.state, row.installer_phone, row.installer_name) == (s.UNINSTALLED, "", "")
    assert [e.kind for e in TimelineEvent.select().order_by(TimelineEvent.id)] == ["uninstalled", "purged"]
    assert purge_salon(SALON)["records"] == 0  # twice is harmless


def test_purging_an_unknown_salon_raises(database):
    with pytest.raises(UnknownSalon):
        purge_salon(404)


@pytest.mark.parametrize("resource, model", [("record", Record), ("client", Client)])
def test_webhooks_shaped_like_the_sandboxs_are_applied(salon, database, resource, model):
    from sandbox.yclients.data import SALONS, SalonData
    from sandbox.yclients.webhooks import data_payload

    data = SalonData(SALONS[SALON], datetime.date(2026, 11, 27))
    created = data_payload(data, resource, "create")
    assert apply(created, database) == "applied"
    row = model.get(model.yclients_id == created["resource_id"])
    assert row.deleted is False and row.data["id"] == created["resource_id"]
    deleted = data_payload(data, resource, "delete", created["resource_id"])
    deleted["data"]["last_change_date"] = "2099-01-01T00:00:00+03:00"
    assert apply(deleted, database) == "applied"
    assert model.get_by_id(row.id).deleted is True


def test_junk_fields_are_stored_empty_instead_of_failing_the_delivery_forever(salon, database):
    body = record_event(staff_id=2 ** 80, comment="a\u0000b")
    body["data"]["client"] = {"id": "9" * 30}
    assert apply(body, database) == "applied"
    row = the_record()
    assert (row.staff_id, row.client_id, row.comment) == (None, None, "ab")


def test_a_record_without_a_usable_id_is_ignored(salon, database):
    body = record_event()
    body.pop("resource_id")
    body["data"]["id"] = "9" * 40
    assert apply(body, database) == "ignored"
