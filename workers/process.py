"""The worker process's container, for its actors: Dramatiq calls an actor with ids only, so it looks here.

`start()` is the worker's composition root (run by `dramatiq workers.main`); unit tests `install` a
container of their own. Services never read this: actors pass them the parts they use.
"""
from __future__ import annotations

import dramatiq

from runtime.bootstrap import bootstrap
from runtime.container import Container
from runtime.heartbeat import WorkerHeartbeat
from runtime.settings import Settings
from workers import registry

_current: Container | None = None


def install(container: Container) -> Container:
    global _current
    _current = container
    return container


def current() -> Container:
    if _current is None:
        raise RuntimeError("worker not started (workers.process.start, run by `dramatiq workers.main`)")
    return _current


def start(settings: Settings | None = None) -> Container:
    """Bootstrap the `worker` role, make its broker Dramatiq's, bind every actor to it."""
    container = bootstrap(settings, "worker")
    # Beats as `worker` or `sync` (from the queues it consumes) once the process boots: the health details.
    container.broker.add_middleware(WorkerHeartbeat(container.redis))
    dramatiq.set_broker(container.broker)
    registry.declare(container.broker, diagnostics=container.settings.diagnostic_actors)
    return install(container)
