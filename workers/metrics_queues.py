"""Scrape-time gauges read from Redis and the database: queue depth and age, dead letters, open failures.

Computed when `/metrics` is scraped (not pushed), so they are right even if every worker is down:
exactly the situations the alerts in docs/operations.md are for.
"""
from __future__ import annotations

import json
import logging
import threading
import time

from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger("aiadmin.metrics")

NAMESPACE = "dramatiq"


def known_queues() -> list[str]:
    from workers import registry

    return sorted({spec.queue_name for spec in registry.specs().values()})


class QueueCollector:
    def __init__(self, redis_client, database=None, queues=None, namespace: str = NAMESPACE, clock=time.time):
        self.redis = redis_client
        self.database = database
        self.queues = queues
        self.namespace = namespace
        self.clock = clock

    def describe(self):
        return []

    def collect(self):
        depth = GaugeMetricFamily("aiadmin_queue_depth", "Messages waiting in a queue (incl. delayed retries)",
                                  labels=["queue"])
        age = GaugeMetricFamily("aiadmin_queue_oldest_age_seconds", "Age of the oldest waiting message",
                                labels=["queue"])
        dead = GaugeMetricFamily("aiadmin_dead_letters", "Dead-lettered messages kept by the broker (XQ)",
                                 labels=["queue"])
        try:
            for queue in self.queues or known_queues():
                key = f"{self.namespace}:{queue}"
                with self.redis.pipeline(transaction=False) as pipe:
                    pipe.llen(key).zcard(f"{key}.DQ").zcard(f"{key}.XQ").lindex(key, 0)
                    waiting, delayed, dead_count, oldest_id = pipe.execute()
                depth.add_metric([queue], waiting + delayed)
                dead.add_metric([queue], dead_count)
                age.add_metric([queue], self._age(key, oldest_id))
        except Exception as exc:  # Redis down: report what we can, never fail the scrape
            logger.warning("queue metrics unavailable: %s", type(exc).__name__)
        yield depth
        yield age
        yield dead
        open_failures = self._open_failures()
        if open_failures is not None:
            family = GaugeMetricFamily("aiadmin_failures_open", "Failed jobs not yet re-queued (aiadmin failed)")
            family.add_metric([], open_failures)
            yield family

    def _age(self, key: str, oldest_id) -> float:
        if not oldest_id:
            return 0.0
        body = self.redis.hget(f"{key}.msgs", oldest_id)
        if not body:
            return 0.0
        try:
            stamp = json.loads(body)["message_timestamp"] / 1000.0
        except (ValueError, KeyError, TypeError):
            return 0.0
        return max(0.0, self.clock() - stamp)

    def _open_failures(self):
        if self.database is None:
            return None
        from models.failure import OPEN, Failure

        try:
            self.database.connect(reuse_if_open=True)
            return Failure.select().where(Failure.status == OPEN).count()
        except Exception as exc:
            logger.warning("failure count unavailable: %s", type(exc).__name__)
            return None


SCRAPE_CACHE_SECONDS = 15.0  # Prometheus' usual scrape interval; the gauges move slower than that


class CachedCollector:
    """Serves the wrapped collector's families for `ttl` seconds, so `/metrics` is not a way to make us
    query Redis and the database on every request (web has several workers; each keeps its own copy)."""

    def __init__(self, collector, ttl: float = SCRAPE_CACHE_SECONDS, clock=time.monotonic):
        self.collector = collector
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._families: list = []
        self._at: float | None = None

    def describe(self):
        return []

    def collect(self):
        with self._lock:
            now = self.clock()
            if self._at is None or now - self._at >= self.ttl:
                self._families = list(self.collector.collect())
                self._at = now
            families = self._families
        yield from families
