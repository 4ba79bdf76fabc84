"""`GET /metrics`: Prometheus text for this host's processes, plus queue-depth and failure gauges."""
from __future__ import annotations

from flask import Blueprint, current_app

from runtime.metrics_endpoint import respond
from runtime.queue_gauges import CachedCollector, QueueCollector
from web.context import ctx

blueprint = Blueprint("metrics", __name__)
EXTENSION = "aiadmin.queue_collector"


def queue_collector(c):
    """One per app, cached: a scrape storm costs at most one Redis and one database read per period."""
    if EXTENSION not in current_app.extensions:
        current_app.extensions[EXTENSION] = CachedCollector(QueueCollector(c.redis, c.database))
    return current_app.extensions[EXTENSION]


@blueprint.get("/metrics")
def metrics_endpoint():
    c = ctx()
    return respond(c.settings, [queue_collector(c)])
