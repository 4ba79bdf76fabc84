"""`GET /metrics`: Prometheus text for this host's processes, plus queue-depth and failure gauges."""
from __future__ import annotations

from flask import Blueprint

from web.context import ctx

blueprint = Blueprint("metrics", __name__)


def queue_collector(c):
    """One per process, cached: a scrape storm costs at most one Redis and one database read per period."""
    from workers.metrics_queues import CachedCollector, QueueCollector

    if "queue_collector" not in c.extras:
        c.extras["queue_collector"] = CachedCollector(QueueCollector(c.redis, c.database))
    return c.extras["queue_collector"]


@blueprint.get("/metrics")
def metrics_endpoint():
    from workers.metrics_http import respond

    c = ctx()
    return respond(c.settings, [queue_collector(c)])
