"""Test helpers: free ports, and real service processes started and stopped by the tests."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def settings_env(settings) -> dict[str, str]:
    """The environment variables that reproduce `settings` in a child process."""
    return {
        "APP_ENV": settings.app_env,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "JWT_SECRET": settings.jwt_secret,
        "PUBLIC_BASE_URL": settings.public_base_url,
        "YCLIENTS_API_URL": settings.yclients_api_url,
        "YCLIENTS_PARTNER_TOKEN": settings.yclients_partner_token,
        "YCLIENTS_APP_ID": str(settings.yclients_app_id),
        "YCLIENTS_USER_TOKEN": settings.yclients_user_token,
        "YCLIENTS_PARTNER_ID": settings.yclients_partner_id,
        "YCLIENTS_RATE_LIMIT": ",".join(f"{limit}/{window}s" for limit, window in settings.yclients_rate_limit.windows),
        "WAHA_URL": settings.waha_url,
        "WAHA_API_KEY": settings.waha_api_key,
        "WAHA_WEBHOOK_SECRET": settings.waha_webhook_secret,
        "BRIDGE_PUBLIC_URL": settings.bridge_public_url,
        "HEALTH_TOKEN": settings.health_token,
        "SUPPORT_CONTACT": settings.support_contact,
        "TRUSTED_PROXIES": ",".join(str(network) for network in settings.trusted_proxies),
        "RECORDS_DAYS_BACK": str(settings.records_days_back),
        "RECORDS_DAYS_AHEAD": str(settings.records_days_ahead),
        "DIAGNOSTIC_ACTORS": "1" if settings.diagnostic_actors else "",
    }


class Service:
    """A real child process (server or worker) with its output kept in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path, cwd: Path = ROOT):
        self.name = name
        self.argv = argv
        self.log_path = log_dir / f"{name}.log"
        full_env = {**os.environ, **env, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "PYTHONUNBUFFERED": "1",
                    # Like the Procfiles: parallel test gunicorns must not share ~/.gunicorn/gunicorn.ctl.
                    "GUNICORN_CMD_ARGS": "--no-control-socket"}
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(argv, env=full_env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_http(self, url: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log()[-4000:]}")
            try:
                if requests.get(url, timeout=1).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} did not answer {url} within {timeout}s:\n{self.log()[-4000:]}")

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.kill(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
                self.process.wait(5)
        self._log.close()


@contextlib.contextmanager
def serve_sandbox(module: str, name: str, env: dict[str, str], log_dir: Path):
    """`python -m sandbox.<module> serve` on a free port, ready (its /healthz answers); yields its URL."""
    port = free_port()
    service = Service(name, [sys.executable, "-m", f"sandbox.{module}", "serve", "--port", str(port)], env, log_dir)
    url = f"http://127.0.0.1:{port}"
    try:
        service.wait_http(url + "/healthz")
        yield url
    finally:
        service.stop()


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {message}")


def container_for(settings, database, redis, role: str = "web", **parts):
    """A container over the test's own database and Redis (no second pool), with `parts` swapped in
    (e.g. `jobs=StubJobs()`, `gateway=FakeGateway()`)."""
    from runtime.bootstrap import build_container

    return build_container(settings, role, database=database, redis=redis).replace(**parts)
