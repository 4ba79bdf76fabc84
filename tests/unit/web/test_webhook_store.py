"""The web process's delivery writer: concurrent deliveries share one transaction, each gets its own id in
order, a failing batch stores nothing half-way, and the batch's jobs reach Redis in one pipeline."""
from __future__ import annotations

import threading

import pytest

from models.db import utcnow
from models.webhook_delivery import WebhookDelivery, insert_batch, new_row
from runtime.broker import build_broker
from runtime.jobs import Jobs
from runtime.stub_jobs import StubJobs
from web import webhook_auth
from web.webhook_store import DeliveryStore


def row(n: int, kind: str = "data"):
    body = {"resource": "record", "company_id": 962302, "resource_id": n, "data": {"comment": f"v{n} ё"}}
    text = webhook_auth.canonical(body)
    return new_row(salon_id=962302, kind=kind, event="", resource="record", status="update", resource_id=n,
                   auth="webhook_key", body_hash=webhook_auth.hash_of(text), body_json=text, received_at=utcnow())


def test_a_batch_is_inserted_in_one_transaction_with_its_ids_in_order(database):
    from models.db import is_sqlite, raw_connection

    connection = raw_connection(database)
    try:
        ids = insert_batch(connection, [row(n) for n in range(1, 6)], sqlite=is_sqlite(database))
    finally:
        connection.close()
    stored = {r.id: r for r in WebhookDelivery.select()}
    assert sorted(stored) == sorted(ids) and len(set(ids)) == 5
    assert [stored[i].resource_id for i in ids] == [1, 2, 3, 4, 5]  # each id is its own row's
    assert stored[ids[0]].body == {"resource": "record", "company_id": 962302, "resource_id": 1,
                                   "data": {"comment": "v1 ё"}}
    assert stored[ids[0]].received_at.year >= 2026 and stored[ids[0]].outcome == ""


def test_a_batch_with_a_row_the_database_refuses_stores_none_of_it(database):
    from models.db import is_sqlite, raw_connection

    bad = list(row(3))
    bad[1] = None  # kind is NOT NULL
    connection = raw_connection(database)
    try:
        with pytest.raises(Exception):
            insert_batch(connection, [row(1), row(2), tuple(bad), row(4)], sqlite=is_sqlite(database))
        assert insert_batch(connection, [row(5)], sqlite=is_sqlite(database))  # the connection is usable after
    finally:
        connection.close()
    assert [r.resource_id for r in WebhookDelivery.select()] == [5]


def test_concurrent_deliveries_share_commits_and_each_is_stored_and_enqueued_once(database, monkeypatch):
    jobs = StubJobs()
    store = DeliveryStore(database, jobs, idle_s=0.2)
    batches = []
    real = insert_batch
    gate = threading.Event()

    entered = []

    def counted(connection, rows, sqlite):
        entered.append(len(rows))
        gate.wait(10)  # the first commit is slow: the others gather behind it
        batches.append(len(rows))
        return real(connection, rows, sqlite=sqlite)

    monkeypatch.setattr("web.webhook_store.insert_batch", counted)
    ids = {}
    threads = [threading.Thread(target=lambda n=n: ids.__setitem__(n, store.store(row(n)))) for n in range(20)]
    for thread in threads:
        thread.start()
    from tests.support import wait_for

    wait_for(lambda: entered and len(store._writer._pending) == 20 - entered[0],
             message="deliveries gathering behind the first commit")
    gate.set()
    for thread in threads:
        thread.join(10)
    store.close()
    assert len(batches) < 20 and sum(batches) == 20
    assert {r.id: r.resource_id for r in WebhookDelivery.select()} == {i: n for n, i in ids.items()}
    assert sorted(jobs.calls()) == sorted(("process_webhook", i) for i in ids.values())


def test_a_batch_of_jobs_enqueued_in_one_pipeline_is_consumed_as_dramatiq_messages(settings, redis_client):
    broker = build_broker(settings)
    jobs = Jobs(broker)
    redis_client.script_flush()  # Redis does not know the dispatch script yet: loaded, then the batch sent
    jobs.process_webhooks([11, 12, 13])
    got = []
    for message in broker.consume("webhooks", prefetch=10, timeout=500):
        if message is None:
            break
        got.append((message.actor_name, message.args))
        if len(got) == 3:
            break
    assert got == [("process_webhook", (11,)), ("process_webhook", (12,)), ("process_webhook", (13,))]
    broker.close()
