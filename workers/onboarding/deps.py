"""What the onboarding and sync services need, passed in explicitly (actors take it from the container)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runtime.middleware import current_message_context


@dataclass
class Deps:
    settings: Any
    database: Any
    redis: Any
    live: Any  # models.live.LiveStatus
    api: Any  # runtime.yclients.api.YclientsApi
    jobs: Any  # runtime.jobs.Jobs: enqueue only after the commit
    message_id: str | None = None  # the Dramatiq message being processed (lease owner)

    @classmethod
    def of(cls, container, *, interactive: bool = False) -> "Deps":
        """The parts of the worker's container (runtime.container.Container), for the message being processed.
        `interactive`: YCLIENTS calls an owner waits for (activation, the welcome) get the interactive priority;
        otherwise the background API of the syncs (runtime/yclients/ratelimit.py)."""
        api = container.yclients_priority if interactive else container.yclients
        return cls(settings=container.settings, database=container.database, redis=container.redis,
                   live=container.live, api=api, jobs=container.jobs,
                   message_id=current_message_context().get("message_id"))
