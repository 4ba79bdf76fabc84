"""One Redis pub/sub listener per web process, fanning status events out to the sockets of that process.

Measured (reference queue-realtime §2.2): one subscription per socket costs a Redis connection each
and lost deliveries at 1,000 sockets; one `psubscribe` per process costs one. The listener is a
supervised `get_message(timeout=…)` loop in a daemon thread, started on first use, reconnecting on
errors. Pub/sub is at-most-once: after a reconnect every subscriber is told to RESYNC (re-read the
snapshot), and so is a subscriber whose queue overflowed.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
from dataclasses import dataclass, field

import redis

from models.live import CHANNEL_PATTERN, salon_of_channel

logger = logging.getLogger("aiadmin.web.fanout")

RESYNC = "resync"
ENDED = "session_ended"  # (ENDED, salon_id, generation): sessions older than that generation ended
QUEUE_SIZE = 1000


@dataclass(eq=False)
class Subscription:
    salon_ids: frozenset[int]
    queue: "queue.Queue" = field(default_factory=lambda: queue.Queue(QUEUE_SIZE))
    overflowed: bool = False

    def deliver(self, item) -> None:
        try:
            self.queue.put_nowait(item)
        except queue.Full:
            self.overflowed = True  # the handler re-reads the snapshot: nothing is silently lost


class Fanout:
    def __init__(self, redis_client, pattern: str = CHANNEL_PATTERN, poll_timeout: float = 1.0,
                 max_backoff: float = 5.0):
        self.redis = redis_client
        self.pattern = pattern
        self.poll_timeout = poll_timeout
        self.max_backoff = max_backoff
        self._lock = threading.Lock()
        self._by_salon: dict[int, set[Subscription]] = {}
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop = threading.Event()
        self.reconnects = 0

    # -- subscribers -------------------------------------------------------------------------
    def subscribe(self, salon_ids, wait: float = 5.0) -> Subscription:
        """Register a queue for `salon_ids`, and return once the listener is subscribed in Redis."""
        sub = Subscription(frozenset(int(s) for s in salon_ids))
        with self._lock:
            for salon_id in sub.salon_ids:
                self._by_salon.setdefault(salon_id, set()).add(sub)
            self._ensure_thread()
        if not self._ready.wait(wait):
            self.unsubscribe(sub)
            raise redis.ConnectionError("status listener is not subscribed")
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            for salon_id in sub.salon_ids:
                subs = self._by_salon.get(salon_id)
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        del self._by_salon[salon_id]

    def subscriber_count(self) -> int:
        with self._lock:
            return len({sub for subs in self._by_salon.values() for sub in subs})

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.poll_timeout + 2)

    # -- the listener ------------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="status-fanout", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        backoff = 0.1
        first = True
        while not self._stop.is_set():
            pubsub = None
            try:
                pubsub = self.redis.pubsub()
                pubsub.psubscribe(self.pattern)
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=self.poll_timeout)
                    if message is None:
                        continue
                    if message["type"] == "psubscribe":
                        self._ready.set()
                        backoff = 0.1
                        if not first:
                            self.reconnects += 1
                            self._broadcast(RESYNC)  # events published while we were away are gone
                        first = False
                    elif message["type"] == "pmessage":
                        self._dispatch(message["channel"], message["data"])
            except Exception as exc:  # the supervisor: log, back off, reconnect; never let the thread die
                self._ready.clear()
                logger.warning("status listener lost Redis (%s); reconnecting in %.1fs", exc.__class__.__name__, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:
                        pass
        self._ready.clear()

    def _dispatch(self, channel, data) -> None:
        salon_id = salon_of_channel(channel)
        if salon_id is None:
            return
        text = data.decode() if isinstance(data, bytes) else str(data)
        try:
            message = json.loads(text)
            seq = int(message["seq"])
            item = (ENDED, salon_id, int(message["data"]["generation"])) if message.get("type") == ENDED \
                else (salon_id, seq, text)
        except (ValueError, KeyError, TypeError, AttributeError):
            logger.warning("malformed status event on %s", channel)
            return
        with self._lock:
            targets = list(self._by_salon.get(salon_id, ()))
        for sub in targets:
            sub.deliver(item)

    def _broadcast(self, item) -> None:
        with self._lock:
            targets = {sub for subs in self._by_salon.values() for sub in subs}
        for sub in targets:
            sub.deliver(item)
