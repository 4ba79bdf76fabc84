"""`GET /metrics`: Prometheus text for this host's processes, plus queue-depth and failure gauges."""
from __future__ import annotations

from flask import Blueprint

from runtime.metrics_endpoint import respond
from runtime.queue_gauges import QueueCollector
from web.context import ctx

blueprint = Blueprint("metrics", __name__)


@blueprint.get("/metrics")
def metrics_endpoint():
    c = ctx()
    return respond(c.settings.health_token, [QueueCollector(c.redis, c.database)])
