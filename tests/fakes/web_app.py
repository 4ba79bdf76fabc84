"""A web app over the test's database and Redis whose jobs must never be enqueued (health checks)."""
from __future__ import annotations

from models.live import LiveStatus
from runtime.stub_jobs import StubJobs
from tests.support import container_for
from web import create_app


def make_app(settings, database, client):
    context = container_for(settings=settings, database=database, redis=client, jobs=StubJobs(fail=AssertionError("health must not enqueue")),
                         live=LiveStatus(client))
    return create_app(settings, container=context)
