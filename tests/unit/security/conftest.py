"""Fixtures for the abuse tests: the web app in-process on a real Redis and database, and a row counter."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings as hyp_settings

from models.live import LiveStatus
from models.registry import all_models
from tests.fakes.onboarding import RecordingJobs, ReopeningClient
from web import create_app
from tests.support import container_for

# Modest and deterministic: each property runs against a real Redis and database.
FUZZ = hyp_settings(max_examples=120, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.filter_too_much, HealthCheck.data_too_large])


def row_counts() -> dict[str, int]:
    """Rows in every table: 'no write on invalid input' is checked against all of them, not a chosen few."""
    return {model._meta.table_name: model.select().count() for model in all_models()}


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


def new_client(app):
    return ReopeningClient(app.test_client(), app.extensions["aiadmin"].database)
