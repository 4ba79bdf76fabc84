"""A `Jobs` that records instead of enqueueing (for unit tests), like `dramatiq.brokers.stub`.

It keeps every typed method of `Jobs` (they all end in `send_with_options`), checks names against
the job table the same way, and can be told to fail like a broker whose Redis is down.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from runtime.job_table import queue_of
from runtime.jobs import Jobs


class SentJob(NamedTuple):
    name: str
    args: tuple
    kwargs: dict
    delay_ms: int | None
    options: dict


class StubJobs(Jobs):
    def __init__(self, fail: BaseException | None = None):  # no broker: nothing leaves the process
        self.broker = None
        self.fail = fail
        self.sent: list[SentJob] = []

    def send_with_options(self, job: str, *, args: tuple = (), kwargs: dict | None = None,
                          delay_ms: int | None = None, **options: Any) -> SentJob:
        queue_of(job)  # an unknown name fails here as it would on a real broker
        if self.fail is not None:
            raise self.fail
        sent = SentJob(job, tuple(args), dict(kwargs or {}), delay_ms, options)
        self.sent.append(sent)
        return sent

    def names(self) -> list[str]:
        return [sent.name for sent in self.sent]

    def named(self, job: str) -> list[tuple[tuple, int | None]]:
        """`(args, delay_ms)` of each `job` sent."""
        return [(sent.args, sent.delay_ms) for sent in self.sent if sent.name == job]

    def calls(self) -> list[tuple]:
        """`(name, *args)` per job sent, the shape most assertions want."""
        return [(sent.name, *sent.args) for sent in self.sent]
