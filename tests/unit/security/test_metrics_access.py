"""`/metrics` on web and the bridge: never open in production, and a scrape storm does not become a storm of
Redis and database queries (the queue gauges are cached per process)."""
from __future__ import annotations

import pytest

from models.db import init_database
from models.failure import Failure
from models.live import LiveStatus
from workers import metrics
from workers.metrics_queues import CachedCollector, QueueCollector


def _web(settings, redis_client):
    from web.app import create_app
    from web.context import WebContext

    context = WebContext(settings=settings, database=init_database(settings.database_url), redis=redis_client,
                         jobs=None, live=LiveStatus(redis_client))
    return create_app(settings, context=context).test_client()


def _bridge(settings, redis_client):
    from bridge.relay import create_app

    context = {"settings": settings, "database": init_database(settings.database_url), "redis": redis_client,
               "jobs": None, "live": LiveStatus(redis_client), "waha": object()}
    return create_app(settings, context=context).test_client()


@pytest.mark.parametrize("make", [_web, _bridge], ids=["web", "bridge"])
def test_production_without_a_token_never_serves_metrics(database, settings, redis_client, make):
    client = make(settings.replace(app_env="production", health_token=""), redis_client)
    for header in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer anything"}):
        assert client.get("/metrics", headers=header).status_code == 401


@pytest.mark.parametrize("make", [_web, _bridge], ids=["web", "bridge"])
def test_production_with_a_token_requires_it(database, settings, redis_client, make):
    token = "p" * 40
    client = make(settings.replace(app_env="production", health_token=token), redis_client)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer " + "q" * 40}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_development_without_a_token_stays_open_for_make_run(database, settings, redis_client):
    assert _web(settings.replace(health_token=""), redis_client).get("/metrics").status_code == 200


def test_repeated_scrapes_read_redis_and_the_database_once_per_period(database, settings, redis_client):
    from web.app import create_app
    from web.context import WebContext

    client = create_app(settings, context=WebContext(settings=settings, database=database, redis=redis_client,
                                                     jobs=None, live=LiveStatus(redis_client))).test_client()
    auth = {"Authorization": f"Bearer {settings.health_token}"}
    metrics.reset_for_tests()
    Failure.create(actor_name="sync_salon", queue_name="sync", message_id="m1", salon_id=1)
    before = redis_client.info("stats")["total_commands_processed"]
    texts = [client.get("/metrics", headers=auth).get_data(as_text=True) for _ in range(20)]
    used = redis_client.info("stats")["total_commands_processed"] - before
    assert "aiadmin_failures_open 1.0" in texts[0]
    database.connect(reuse_if_open=True)  # the app closed the shared handle at teardown
    Failure.create(actor_name="sync_salon", queue_name="sync", message_id="m2", salon_id=1)
    assert "aiadmin_failures_open 1.0" in client.get("/metrics", headers=auth).get_data(as_text=True)  # cached
    # One scrape's reads (a pipeline and a few lookups per queue) plus this test's own INFO, not twenty.
    database.connect(reuse_if_open=True)
    single = QueueCollector(redis_client, database)
    start = redis_client.info("stats")["total_commands_processed"]
    list(single.collect())
    one_scrape = redis_client.info("stats")["total_commands_processed"] - start
    assert used <= one_scrape + 2, (used, one_scrape)


def test_the_cache_refreshes_after_its_period(database, settings, redis_client):
    now = [100.0]
    cached = CachedCollector(QueueCollector(redis_client, database, queues=["sync"]), ttl=15, clock=lambda: now[0])

    def open_failures():
        return next(f for f in cached.collect() if f.name == "aiadmin_failures_open").samples[0].value

    assert open_failures() == 0
    Failure.create(actor_name="sync_salon", queue_name="sync", message_id="m1", salon_id=1)
    now[0] += 14
    assert open_failures() == 0
    now[0] += 1
    assert open_failures() == 1
