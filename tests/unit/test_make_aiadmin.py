"""`aiadmin` next to `make run` works without exporting APP_ENV: `make aiadmin ARGS=…` carries make run's
environment, and the bare command says so when it is missing."""
import json
import os
import subprocess

from tests.support import BIN, ROOT
from tests.unit.workers.support_rows import onboarded_salon


def test_make_aiadmin_runs_the_cli_with_the_development_environment(database, settings):
    onboarded_salon()
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
           "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url}  # no APP_ENV
    result = subprocess.run(["make", "-s", "aiadmin", "ARGS=status 962302 --json"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["state"] == "active"


def test_bare_aiadmin_without_app_env_points_to_make_aiadmin():
    env = {"PATH": os.environ["PATH"]}
    result = subprocess.run([str(BIN / "aiadmin"), "status", "1"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert 'make aiadmin ARGS="status SALON_ID"' in result.stderr and "Traceback" not in result.stderr
