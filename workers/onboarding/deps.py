"""What the onboarding and sync services need, passed in explicitly (actors build it from the runtime)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass
class Deps:
    settings: Any
    database: Any
    redis: Any
    live: Any  # models.live.LiveStatus
    api: Any  # runtime.yclients.api.YclientsApi
    enqueue: Callable[..., Any]  # enqueue(actor_name, *args): call only after the commit
    message_id: str | None = None  # the Dramatiq message being processed (lease owner)


def from_runtime() -> Deps:
    from runtime.jobs import Jobs
    from runtime.middleware import current_message_context
    from workers.runtime import runtime

    rt = runtime()
    jobs = Jobs(rt.broker)
    return Deps(settings=rt.settings, database=rt.database, redis=rt.redis, live=rt.live,
                api=rt.service("yclients"), enqueue=jobs.send,
                message_id=current_message_context().get("message_id"))
