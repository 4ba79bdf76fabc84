"""Shared by the fuzz tests: Hypothesis settings, what the database holds, a fresh client."""
from __future__ import annotations

from hypothesis import HealthCheck, settings as hyp_settings

from models.registry import all_models
from tests.fakes.onboarding import ReopeningClient

# Modest and deterministic: each property runs against a real Redis and database.
FUZZ = hyp_settings(max_examples=120, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.filter_too_much, HealthCheck.data_too_large])


def row_counts() -> dict[str, int]:
    """Rows in every table: 'no write on invalid input' is checked against all of them, not a chosen few."""
    return {model._meta.table_name: model.select().count() for model in all_models()}


def new_client(app):
    return ReopeningClient(app.test_client(), app.extensions["aiadmin"].database)
