"""Actor declarations without import-time side effects.

Actor modules decorate plain functions with `@actor(...)`; nothing touches a broker until a
composition root calls `declare(broker)`. Unit tests call the functions directly.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

import dramatiq

# Modules holding actors; `specs` imports them all by name because each of them imports `actor` from
# here (a static import back would be a cycle). runtime/job_table.py lists the same jobs for enqueuers.
ACTOR_MODULES = [
    "workers.actors.diagnostics",
    "workers.actors.whatsapp",
    "workers.actors.onboarding",
    "workers.actors.sync",
    "workers.actors.lifecycle",
]
# Fault injection for tests and benchmarks: only a worker started with DIAGNOSTIC_ACTORS=1 registers them.
DIAGNOSTIC_MODULES = ["workers.actors.fault_injection"]

# Bounded retries with capped backoff for every actor unless it says otherwise
# (Dramatiq's defaults retry for about 35 days).
DEFAULT_OPTIONS = {
    "max_retries": 6,
    "min_backoff": 1_000,
    "max_backoff": 120_000,
    "time_limit": 120_000,
}


@dataclass(frozen=True)
class ActorSpec:
    name: str
    fn: Callable[..., Any]
    queue_name: str
    options: dict[str, Any] = field(default_factory=dict)
    # Dramatiq's in-process order among the messages a worker has fetched (lower first; every queue of the
    # process shares one work queue). Default 0.
    priority: int = 0


_SPECS: dict[str, ActorSpec] = {}


def actor(queue_name: str = "default", priority: int = 0, **options):
    def decorate(fn):
        _SPECS[fn.__name__] = ActorSpec(fn.__name__, fn, queue_name, {**DEFAULT_OPTIONS, **options}, priority)
        return fn

    return decorate


def specs(diagnostics: bool = False) -> dict[str, ActorSpec]:
    """The production actors; with `diagnostics`, the fault-injection ones too."""
    modules = ACTOR_MODULES + (DIAGNOSTIC_MODULES if diagnostics else [])
    for module in modules:
        importlib.import_module(module)
    return {name: spec for name, spec in _SPECS.items() if spec.fn.__module__ in modules}


def declare(broker: dramatiq.Broker, diagnostics: bool = False) -> dict[str, dramatiq.Actor]:
    """Bind every actor to `broker` (idempotent per broker)."""
    declared = {}
    for name, spec in specs(diagnostics).items():
        if name in broker.actors:
            declared[name] = broker.get_actor(name)
            continue
        declared[name] = dramatiq.Actor(spec.fn, broker=broker, actor_name=name, queue_name=spec.queue_name,
                                        priority=spec.priority, options=dict(spec.options))
    return declared
