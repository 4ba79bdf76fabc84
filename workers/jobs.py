"""Enqueueing work by actor name from any process (web, bridge, CLI) after the database commit."""
from __future__ import annotations

from typing import Any

import dramatiq

from workers import registry


class Jobs:
    def __init__(self, broker: dramatiq.Broker):
        self.broker = broker
        registry.declare(broker)

    def send(self, actor_name: str, *args: Any, delay_ms: int | None = None, **kwargs: Any) -> dramatiq.Message:
        actor = self.broker.get_actor(actor_name)
        return actor.send_with_options(args=args, kwargs=kwargs, delay=delay_ms)
