"""Fixtures of the web unit tests: the Flask app on the test database and Redis, recording its jobs."""
from __future__ import annotations

import pytest

from models.live import LiveStatus
from models.status_rebuild import rebuild_snapshot
from tests.fakes.onboarding import RecordingJobs
from tests.support import container_for
from web import create_app


@pytest.fixture
def jobs():
    return RecordingJobs()


@pytest.fixture
def live(redis_client):
    return LiveStatus(redis_client, rebuild=rebuild_snapshot)


@pytest.fixture
def app(settings, database, redis_client, jobs, live):
    return create_app(settings, container=container_for(settings, database, redis_client, jobs=jobs, live=live))
