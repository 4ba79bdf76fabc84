"""Composition root of the worker process: settings, database, Redis, broker and actors, built once."""
from __future__ import annotations

import dramatiq

from models.db import init_database
from models.live import LiveStatus
from runtime.settings import Settings
from workers import registry
from runtime.broker import build_broker
from runtime.redis_client import redis_client
from workers.runtime import Runtime, install
from workers.services import build_services


def bootstrap(settings: Settings | None = None) -> Runtime:
    from runtime.settings import load_or_exit
    from runtime.logs import configure_logging
    from runtime.metrics import configure as configure_metrics

    settings = settings or load_or_exit()
    configure_logging(settings, process="worker")
    configure_metrics("worker")
    database = init_database(settings.database_url)
    client = redis_client(settings)
    broker = build_broker(settings, database)
    dramatiq.set_broker(broker)
    registry.declare(broker)
    rt = Runtime(settings=settings, database=database, redis=client, broker=broker,
                 live=LiveStatus(client), services=build_services(settings))
    install(rt)
    return rt
