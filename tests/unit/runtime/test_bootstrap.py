"""One bootstrap for every process: the same frozen container per role, built without connecting to anything."""
import dataclasses
import subprocess
import sys

import pytest

from runtime.bootstrap import build_container
from runtime.container import ROLES
from runtime.middleware import DatabaseConnection
from runtime.settings import Settings
from tests.support import ROOT


@pytest.fixture
def unreachable(tmp_path):
    """Settings whose Redis and gateway do not exist: building must not notice."""
    return Settings.from_env({"APP_ENV": "development", "REDIS_URL": "redis://127.0.0.1:1/0",
                              "DATABASE_URL": f"sqlite:///{tmp_path / 'never-opened.db'}"})


@pytest.mark.parametrize("role", ROLES)
def test_every_role_gets_every_part_and_nothing_is_connected(unreachable, role, tmp_path):
    container = build_container(unreachable, role)
    assert container.role == role
    assert all(getattr(container, f.name) is not None for f in dataclasses.fields(container))
    assert container.database.is_closed() and not (tmp_path / "never-opened.db").exists()
    assert container.live.rebuild is not None  # every process can rebuild a lost snapshot, not only web
    with pytest.raises(dataclasses.FrozenInstanceError):
        container.jobs = None


def test_only_the_worker_broker_processes_messages_with_a_database_connection(unreachable):
    def middleware(role):
        return {type(m) for m in build_container(unreachable, role).broker.middleware}

    assert DatabaseConnection in middleware("worker")
    assert all(DatabaseConnection not in middleware(role) for role in ROLES if role != "worker")


def test_an_unknown_role_is_refused(unreachable):
    with pytest.raises(ValueError):
        build_container(unreachable, "scheduler")


def test_the_worker_entry_binds_every_actor_and_the_heartbeat_without_connecting(tmp_path):
    code = ("import os; os.environ.update(APP_ENV='development', REDIS_URL='redis://127.0.0.1:1/0', "
            "DATABASE_URL='sqlite:///' + os.environ['TMP'] + '/db.sqlite', PROMETHEUS_MULTIPROC_DIR=os.environ['TMP'])\n"
            "import workers.main as m\n"
            "from runtime.job_table import JOBS\n"
            "from runtime.heartbeat import WorkerHeartbeat\n"
            "assert set(m.broker.actors) == set(JOBS), set(JOBS) ^ set(m.broker.actors)\n"
            "assert 'hold' not in m.broker.actors and 'fail_until' not in m.broker.actors\n"
            "assert any(isinstance(x, WorkerHeartbeat) for x in m.broker.middleware)\n"
            "assert m.container.role == 'worker'\n")
    env = {"PATH": "/usr/bin:/bin", "TMP": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env=env)
    assert result.returncode == 0, result.stderr
