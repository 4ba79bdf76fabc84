"""`bootstrap(settings, role)`: the composition root shared by web, bridge, worker, clock and the CLI.

Building the container opens nothing: peewee connects per request/message, Redis on first use,
and the HTTP clients per call. Only the worker's broker gets the middleware that processes messages.
"""
from __future__ import annotations

from models.db import init_database
from models.live import LiveStatus
from models.status_rebuild import rebuild_snapshot
from runtime import metrics
from runtime.broker import build_broker
from runtime.container import ROLES, Container
from runtime.gateway.waha import client_from_settings as gateway_from_settings
from runtime.jobs import Jobs
from runtime.logs import configure_logging
from runtime.redis_client import redis_client
from runtime.settings import Settings, load_or_exit
from runtime.yclients.api import api_from_settings, interactive_api_from_settings, priority_api_from_settings

# Roles that serve or record metrics (web and bridge serve /metrics; the worker records into the same
# directory); the clock and a CLI command are short-lived or record nothing worth scraping.
METRICS_ROLES = ("web", "bridge", "worker")
# Roles that log through our handler; a CLI command prints its answer and keeps stderr for errors.
LOGGING_ROLES = ("web", "bridge", "worker", "clock")


def build_container(settings: Settings, role: str, *, database=None, redis=None) -> Container:
    """The parts, without touching logging or metrics. A caller that already holds the database or the
    Redis client (a test, over its own) passes them instead of opening new pools."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    database = database if database is not None else init_database(settings.database_url)
    client = redis if redis is not None else redis_client(settings)
    live = LiveStatus(client, rebuild=rebuild_snapshot)
    # Only the worker's broker processes messages: a connection per message, failures, retry notices.
    broker = build_broker(settings, database, live) if role == "worker" else build_broker(settings)
    return Container(role=role, settings=settings, database=database, redis=client, broker=broker,
                     jobs=Jobs(broker), live=live,
                     gateway=gateway_from_settings(settings), yclients=api_from_settings(settings, client),
                     yclients_interactive=interactive_api_from_settings(settings, client),
                     yclients_priority=priority_api_from_settings(settings, client))


def bootstrap(settings: Settings | None = None, role: str = "cli") -> Container:
    """Settings (from the environment unless given; a clear message and exit 2 if incomplete),
    logging and metrics where the role has them, then the container."""
    settings = settings or load_or_exit()
    if role in LOGGING_ROLES:
        configure_logging(settings, process=role)
    if role in METRICS_ROLES:
        metrics.configure(role)
    return build_container(settings, role)
