"""The one frozen container a process is built from; `runtime.bootstrap.bootstrap` makes it, once per process."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import dramatiq
import peewee
import redis

from models.live import LiveStatus
from runtime.gateway.waha import WahaClient
from runtime.jobs import Jobs
from runtime.settings import Settings
from runtime.yclients.api import YclientsApi

# The processes of the Procfile, plus the support CLI.
ROLES = ("web", "bridge", "worker", "clock", "cli")


@dataclass(frozen=True)
class Container:
    """Everything a handler, an actor or a command may need. Services take the parts they use as
    arguments; only composition roots (and the worker's actors, which Dramatiq calls with ids) hold it."""

    role: str
    settings: Settings
    database: peewee.Database
    redis: redis.Redis
    broker: dramatiq.Broker
    jobs: Jobs
    live: LiveStatus
    gateway: WahaClient  # the WhatsApp gateway (WAHA)
    # One shared YCLIENTS budget (runtime/yclients/ratelimit.py), three priorities/patiences:
    yclients: YclientsApi  # BACKGROUND: syncs; only what interactive calls leave, BudgetWait instead of sleeping
    yclients_interactive: YclientsApi  # INTERACTIVE, short timeouts: the install check, support's disconnect
    yclients_priority: YclientsApi  # INTERACTIVE for onboarding jobs (activation, the welcome's card): BudgetWait

    def replace(self, **parts) -> "Container":
        """The same container with some parts swapped (tests: a StubJobs, a fake gateway)."""
        return dataclasses.replace(self, **parts)
