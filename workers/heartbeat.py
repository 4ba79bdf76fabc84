"""Role heartbeats: every process of a role (web, bridge, worker, sync, clock) says "alive" in Redis.

Each process writes its own field (host:pid -> epoch seconds) into one hash per role every INTERVAL
seconds from a daemon thread started by its composition root (never at import). The detailed health
answer reads the hashes: a role with no fresh beat is down, whatever the load balancer still believes.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time

from dramatiq.middleware import Middleware

logger = logging.getLogger("aiadmin.heartbeat")

ROLES = ("web", "bridge", "worker", "sync", "clock")
KEY = "aiadmin:heartbeat:{role}"
INTERVAL = 10.0
STALE_AFTER = 60.0  # no beat for this long: the instance counts as gone (alert threshold, docs/operations.md)
FORGET_AFTER = 86400.0  # fields older than a day are removed when read (processes that never came back)


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(redis_client, role: str, instance: str, now: float | None = None) -> None:
    key = KEY.format(role=role)
    with redis_client.pipeline(transaction=False) as pipe:
        pipe.hset(key, instance, repr(time.time() if now is None else now))
        pipe.expire(key, int(FORGET_AFTER))
        pipe.execute()


def read(redis_client, now: float | None = None) -> dict[str, dict]:
    """{role: {"alive": n, "last_beat_age_seconds": float | None, "status": "ok" | "down"}}."""
    now = time.time() if now is None else now
    report = {}
    for role in ROLES:
        key = KEY.format(role=role)
        beats = {}
        for instance, value in (redis_client.hgetall(key) or {}).items():
            try:
                beats[instance] = float(value)
            except ValueError:
                continue
        forgotten = [instance for instance, at in beats.items() if now - at > FORGET_AFTER]
        if forgotten:
            redis_client.hdel(key, *forgotten)
        ages = [now - at for instance, at in beats.items() if instance not in forgotten]
        alive = sum(1 for age in ages if age <= STALE_AFTER)
        report[role] = {"alive": alive,
                        "last_beat_age_seconds": round(min(ages), 1) if ages else None,
                        "status": "ok" if alive else "down"}
    return report


class Beater:
    """A daemon thread that beats every `interval` seconds until `stop()`; a Redis blip only skips a beat."""

    def __init__(self, redis_client, role: str, interval: float = INTERVAL, extra=None):
        self.redis = redis_client
        self.role = role
        self.interval = interval
        self.extra = extra  # a callable run after each beat (the bridge probes the gateway there)
        self.instance = instance_name()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "Beater":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"heartbeat-{self.role}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                beat(self.redis, self.role, self.instance)
                if self.extra is not None:
                    self.extra()
            except Exception as exc:
                logger.warning("heartbeat of %s failed: %s", self.role, type(exc).__name__)
            self._stop.wait(self.interval)


def role_of_queues(queues) -> str:
    """`sync` for a process that consumes only the sync queue (its own Procfile line), else `worker`."""
    return "sync" if queues and set(queues) == {"sync"} else "worker"


class WorkerHeartbeat(Middleware):
    """Starts the beat when a Dramatiq worker process boots; its role follows from the queues it consumes."""

    def __init__(self, redis_client):
        self.redis = redis_client
        self.beater: Beater | None = None

    def after_worker_boot(self, broker, worker):
        self.beater = Beater(self.redis, role_of_queues(getattr(worker, "consumer_whitelist", None))).start()

    def before_worker_shutdown(self, broker, worker):
        if self.beater is not None:
            self.beater.stop()
