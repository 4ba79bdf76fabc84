"""Fixtures for the abuse tests: the web app in-process on a real Redis and database, and a row counter."""
from __future__ import annotations

import pytest

from models.live import LiveStatus
from tests.fakes.onboarding import RecordingJobs, ReopeningClient
from tests.support import container_for
from web import create_app


@pytest.fixture
def jobs():
    return RecordingJobs()


@pytest.fixture
def web_app(settings, database, redis_client, jobs):
    from models.status_rebuild import rebuild_snapshot

    context = container_for(settings=settings, database=database, redis=redis_client, jobs=jobs,
                         live=LiveStatus(redis_client, rebuild=rebuild_snapshot))
    return create_app(settings, container=context)


@pytest.fixture
def client(web_app, database):
    return ReopeningClient(web_app.test_client(), database)


