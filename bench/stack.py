"""A whole stack of real processes for benchmarks and fault tests: Redis, database, sandboxes, web, bridge, workers."""
from __future__ import annotations

import contextlib
import signal
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sandbox import redis_server
from runtime.settings import RateLimit, Settings
from tests.support import BIN, Service, free_port, settings_env


@dataclass
class Stack:
    root: Path
    settings: Settings
    redis_port: int
    redis_process: object
    services: dict[str, Service] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self, name: str, argv: list[str], env: dict | None = None, health: str | None = None,
              timeout: float = 60) -> Service:
        # Each stack keeps its own metrics directory: benchmark processes never write into var/metrics.
        metrics_env = {"PROMETHEUS_MULTIPROC_DIR": str(self.root / "metrics")}
        service = Service(name, argv, {**settings_env(self.settings), **metrics_env, **(env or {})}, self.root)
        self.services[name] = service
        if health:
            service.wait_http(health, timeout=timeout)
        return service

    def start_web(self, name="web", worker_class="gthread", workers=1, threads=64, extra=()) -> Service:
        port = self.ports.setdefault(name, free_port())
        argv = [str(BIN / "gunicorn"), "--worker-class", worker_class, "--workers", str(workers),
                "--bind", f"127.0.0.1:{port}", "--timeout", "120", *extra]
        if worker_class == "gthread":
            argv += ["--threads", str(threads), "--worker-connections", str(max(1000, threads * 2))]
        argv.append("web:create_app()")
        return self.start(name, argv, health=f"http://127.0.0.1:{port}/healthz")

    def start_bridge(self) -> Service:
        port = self.ports["bridge"]
        return self.start("bridge", [str(BIN / "gunicorn"), "--worker-class", "gthread", "--threads", "16",
                                     "--bind", f"127.0.0.1:{port}", "bridge.relay:create_app()"],
                          health=f"http://127.0.0.1:{port}/healthz")

    def start_sandboxes(self, fleet: int = 0) -> None:
        """Both sandboxes; `fleet` adds that many small generated salons to YCLIENTS (bench/fleet_sandbox.py)."""
        self.start("whatsapp-sim", [str(BIN / "python"), "-m", "sandbox.whatsapp", "serve", "--port",
                                    str(self.ports["whatsapp"])], health=f"{self.url('whatsapp')}/healthz")
        yclients = ["-m", "bench.fleet_sandbox", "--fleet", str(fleet)] if fleet else ["-m", "sandbox.yclients",
                                                                                           "serve"]
        self.start("yclients-sandbox", [str(BIN / "python"), *yclients, "--port", str(self.ports["yclients"])],
                   health=f"{self.url('yclients')}/healthz")

    def start_worker(self, name="worker", processes=1, threads=8, queues=(), env: dict | None = None) -> Service:
        argv = [str(BIN / "dramatiq"), "workers.main", "--skip-logging", "--processes", str(processes),
                "--threads", str(threads)]
        if queues:
            argv += ["--queues", *queues]
        return self.start(name, argv, env={"dramatiq_worker_timeout": "100", **(env or {})})

    def kill(self, name: str, sig=signal.SIGKILL) -> None:
        self.services[name].kill(sig)
        self.services[name].process.wait(10)

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()
        self.redis_process.terminate()
        self.redis_process.wait(10)


@contextlib.contextmanager
def stack(database_url: str | None = None, rate_limit: str = "5/s,200/min", keep: bool = False,
          redis_socket: bool = False, **overrides):
    """Redis on a free port, a migrated database (temp SQLite unless given), settings pointing at the sandboxes."""
    import migrations
    from models.db import init_database

    root = Path(tempfile.mkdtemp(prefix="aiadmin-stack-"))
    redis_port = free_port()
    socket_path = str(root / "redis.sock") if redis_socket else None
    redis_process = redis_server.start(port=redis_port, unix_socket=socket_path)
    redis_server.wait_ready(port=redis_port)
    ports = {name: free_port() for name in ("web", "bridge", "whatsapp", "yclients")}
    settings = Settings(
        app_env="development",
        database_url=database_url or f"sqlite:///{root / 'aiadmin.db'}",
        redis_url=f"unix://{socket_path}?db=0" if redis_socket else f"redis://127.0.0.1:{redis_port}/0",
        public_base_url=f"http://127.0.0.1:{ports['web']}",
        yclients_api_url=f"http://127.0.0.1:{ports['yclients']}",
        yclients_rate_limit=RateLimit.parse(rate_limit),
        waha_url=f"http://127.0.0.1:{ports['whatsapp']}",
        bridge_public_url=f"http://127.0.0.1:{ports['bridge']}",
        health_token="bench-health-token",
        diagnostic_actors=True,  # the crash-recovery benchmark holds a worker thread with `hold`
        **overrides,
    )
    db = init_database(settings.database_url)
    db.connect()
    migrations.migrate(db)
    db.close()
    result = Stack(root=root, settings=settings, redis_port=redis_port, redis_process=redis_process, ports=ports)
    try:
        yield result
    finally:
        result.stop()
        if not keep:
            import shutil

            shutil.rmtree(root, ignore_errors=True)
