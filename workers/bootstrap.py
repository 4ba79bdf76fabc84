"""Composition root of the worker process: settings, database, Redis, broker and actors, built once."""
from __future__ import annotations

import dramatiq

from models.db import init_database
from models.live import LiveStatus
from settings import Settings
from workers import registry
from workers.broker import build_broker, redis_client
from workers.runtime import Runtime, install
from workers.services import build_services


def bootstrap(settings: Settings | None = None) -> Runtime:
    from settings import load_or_exit
    from workers.logs import configure_logging
    from workers.metrics import configure as configure_metrics

    settings = settings or load_or_exit()
    configure_logging(settings, process="worker")
    configure_metrics("worker")
    database = init_database(settings.database_url)
    client = redis_client(settings)
    broker = build_broker(settings, database)
    from workers.heartbeat import WorkerHeartbeat

    broker.add_middleware(WorkerHeartbeat(client))  # beats as `worker` or `sync` once the process boots
    dramatiq.set_broker(broker)
    registry.declare(broker)
    rt = Runtime(settings=settings, database=database, redis=client, broker=broker,
                 live=LiveStatus(client), services=build_services(settings))
    install(rt)
    return rt
