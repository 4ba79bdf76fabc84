"""Enqueueing work by job name from any process (web, bridge, clock, CLI, workers) after the database commit.

Built on the job table alone: no actor module is imported, so web and the bridge load none of the
worker's code. A message built here is exactly what `Actor.send_with_options` would enqueue.
"""
from __future__ import annotations

from typing import Any

import dramatiq

from runtime.job_table import QUEUES, queue_of


class Jobs:
    def __init__(self, broker: dramatiq.Broker):
        self.broker = broker
        for queue in QUEUES:  # a stub broker refuses undeclared queues; Redis just records the name
            broker.declare_queue(queue)

    def send(self, job: str, *args: Any, delay_ms: int | None = None, **kwargs: Any) -> dramatiq.Message:
        return self.send_with_options(job, args=args, kwargs=kwargs, delay_ms=delay_ms)

    def send_with_options(self, job: str, *, args: tuple = (), kwargs: dict | None = None,
                          delay_ms: int | None = None, **options: Any) -> dramatiq.Message:
        """`send` with message options (e.g. `max_retries`), which override the actor's for this message."""
        message = dramatiq.Message(queue_name=queue_of(job), actor_name=job, args=tuple(args),
                                   kwargs=dict(kwargs or {}), options=options)
        return self.broker.enqueue(message, delay=delay_ms)
