"""Shared fixtures: our own redis-server, a fresh SQLite or PostgreSQL database, settings, real processes.

Tests never touch the shared Redis on 6379. `--db postgresql` needs TEST_POSTGRES_URL; without it the
PostgreSQL tests skip locally and fail under CI.
"""
from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
import redis as redis_lib

from models.db import init_database
from models.registry import all_models
from sandbox import redis_server
from runtime.settings import RateLimit, Settings
from tests.support import Service, free_port, settings_env

IN_CI = bool(os.environ.get("CI"))


def pytest_addoption(parser):
    parser.addoption("--db", default="sqlite", choices=["sqlite", "postgresql"],
                     help="database engine the tests run against")


def pytest_report_header(config):
    return f"database: {config.getoption('--db')}; CI: {IN_CI}"


@pytest.fixture(scope="session")
def redis_server_url():
    """One real redis-server on a free port for the whole test session."""
    port = free_port()
    process = redis_server.start(port=port)
    try:
        redis_server.wait_ready(port=port)
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def redis_url(redis_server_url):
    url = f"{redis_server_url}/0"
    client = redis_lib.Redis.from_url(url)
    client.flushall()  # our own server: nothing else lives here
    client.close()
    return url


@pytest.fixture
def redis_client(redis_url):
    client = redis_lib.Redis.from_url(redis_url)
    yield client
    client.close()


def _postgres_base_url() -> str:
    url = os.environ.get("TEST_POSTGRES_URL", "")
    if not url:
        if IN_CI:
            pytest.fail("TEST_POSTGRES_URL must be set in CI: PostgreSQL tests may not skip there")
        pytest.skip("TEST_POSTGRES_URL not set")
    return url


@contextlib.contextmanager
def scratch_postgres_database(prefix: str):
    """A new, empty PostgreSQL database for the block (its URL), dropped after it, open connections and all."""
    import psycopg2

    base = _postgres_base_url()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(base)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunparse(urlparse(base)._replace(path=f"/{name}"))
    finally:
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@pytest.fixture(scope="session")
def db_url(request, tmp_path_factory):
    """A fresh, empty database for this test session (a temporary SQLite file or a new PG database)."""
    if request.config.getoption("--db") == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    with scratch_postgres_database("aiadmin_t") as url:
        yield url


@pytest.fixture(scope="session")
def migrated_db_url(db_url):
    import migrations

    db = init_database(db_url)
    db.connect()
    migrations.migrate(db)
    db.close()
    return db_url


@pytest.fixture
def database(migrated_db_url):
    """The migrated test database, bound to the models and emptied before each test."""
    db = init_database(migrated_db_url)
    db.connect(reuse_if_open=True)
    with db.atomic():
        for model in all_models():
            model.delete().execute()
    yield db
    if not db.is_closed():
        db.close()


@pytest.fixture
def settings(redis_url, migrated_db_url) -> Settings:
    return Settings(
        app_env="development",
        database_url=migrated_db_url,
        redis_url=redis_url,
        jwt_secret="test-jwt-secret-0123456789abcdef",
        public_base_url="http://127.0.0.1:5000",
        yclients_api_url="http://127.0.0.1:9",
        yclients_partner_token="test-partner-token-abcdef",
        yclients_app_id=18289,
        yclients_rate_limit=RateLimit.parse("5/s,200/min"),
        waha_url="http://127.0.0.1:9",
        waha_api_key="test-waha-key",
        waha_webhook_secret="test-waha-hmac-secret",
        bridge_public_url="http://127.0.0.1:5001",
        health_token="test-health-token",
        diagnostic_actors=True,  # the workers the tests start also run hold / fail_until
    )


@pytest.fixture
def services(tmp_path):
    """Start real processes; every one is stopped at the end of the test."""
    started: list[Service] = []

    def start(name: str, argv: list[str], settings: Settings | None = None, env: dict | None = None,
              cwd: Path | None = None) -> Service:
        full_env = {**(settings_env(settings) if settings else {}), **(env or {})}
        service = Service(name, argv, full_env, tmp_path, **({"cwd": cwd} if cwd else {}))
        started.append(service)
        return service

    yield start
    for service in reversed(started):
        service.stop()
