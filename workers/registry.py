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


_SPECS: dict[str, ActorSpec] = {}


def actor(queue_name: str = "default", **options):
    def decorate(fn):
        _SPECS[fn.__name__] = ActorSpec(fn.__name__, fn, queue_name, {**DEFAULT_OPTIONS, **options})
        return fn

    return decorate


def specs() -> dict[str, ActorSpec]:
    for module in ACTOR_MODULES:
        importlib.import_module(module)
    return dict(_SPECS)


def declare(broker: dramatiq.Broker) -> dict[str, dramatiq.Actor]:
    """Bind every actor to `broker` (idempotent per broker)."""
    declared = {}
    for name, spec in specs().items():
        if name in broker.actors:
            declared[name] = broker.get_actor(name)
            continue
        declared[name] = dramatiq.Actor(spec.fn, broker=broker, actor_name=name, queue_name=spec.queue_name,
                                        priority=0, options=dict(spec.options))
    return declared
