"""The worker process's dependencies, built once by the composition root and read by thin actors."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runtime.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    database: Any
    redis: Any
    broker: Any
    live: Any
    services: dict[str, Any]

    def service(self, name: str):
        return self.services[name]


_current: Runtime | None = None


def install(rt: Runtime) -> None:
    global _current
    _current = rt


def runtime() -> Runtime:
    if _current is None:
        raise RuntimeError("worker runtime not bootstrapped (workers.bootstrap.bootstrap)")
    return _current
