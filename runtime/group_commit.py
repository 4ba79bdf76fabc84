"""Group commit: items from concurrent callers written by ONE writer, one transaction per batch.

A caller `submit(item)`s and blocks until the batch holding its item is committed (it gets its result)
or has failed (the exception is raised in the caller). While one batch is being written the next one
gathers, so under load each commit carries many items and at low load an item is written alone, at once.

Threads or gevent: callers and the gatherer coordinate with `threading` as the process has it (in
gunicorn's gevent worker it is monkey-patched: the gatherer is a greenlet, waiting callers are
greenlets, nothing blocks the loop). The blocking write itself then runs on a native OS thread (a
one-thread gevent ThreadPool), so a slow commit or SQLite's sleeping busy handler never stalls the event
loop. Without gevent (tests, gthread) the gatherer is a daemon thread and writes itself.

A failed batch is retried item by item, so one bad item fails alone and an outage fails each caller;
nothing is ever stored half-way by a batch (the writer's own transaction). Items are written in the
order they were submitted. `close()` drains what is pending, then refuses new items.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable

logger = logging.getLogger("aiadmin.group_commit")


class Closed(RuntimeError):
    """The writer is shut down: the item was not stored."""


class _Waiter:
    __slots__ = ("item", "done", "result", "error")

    def __init__(self, item):
        self.item = item
        self.done = threading.Event()
        self.result = None
        self.error: BaseException | None = None


def _gevent_patched() -> bool:
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a dependency
        return False
    return monkey.is_module_patched("threading")


class GroupCommit:
    def __init__(self, write: Callable[[list], list], *, after: Callable[[list, list], Any] | None = None,
                 on_idle: Callable[[], Any] | None = None, max_batch: int = 500, idle_s: float = 2.0):
        """`write(items)` stores them all or nothing and returns one result per item, in order; `after(items,
        results)` runs after the commit, before their callers are released (e.g. enqueue their jobs; its
        errors are logged only: the items are stored);
        `on_idle()` runs on the writer after `idle_s` without items (e.g. close its connection)."""
        self._write_items = write
        self._after = after
        self._on_idle = on_idle
        self.max_batch = max_batch
        self.idle_s = idle_s
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pending: list[_Waiter] = []
        self._running = False
        self._closing = False
        self._stopped = threading.Event()
        self._pool = None  # gevent: the native thread the writes run on (made on first use, after the fork)

    # -- the callers' side
    def submit(self, item):
        """Store `item` with the next batch; its result once committed, or the batch's exception."""
        waiter = _Waiter(item)
        with self._lock:
            if self._closing:
                raise Closed("the writer is shut down")
            self._pending.append(waiter)
            self._wake.set()
            if not self._running:
                self._running = True
                self._stopped.clear()
                threading.Thread(target=self._loop, name="group-commit", daemon=True).start()
        waiter.done.wait()
        if waiter.error is not None:
            raise waiter.error
        return waiter.result

    def close(self, timeout: float | None = 30) -> bool:
        """Refuse new items, write the pending ones, stop. True once the writer has stopped."""
        with self._lock:
            self._closing = True
            self._wake.set()
            running = self._running
        return self._stopped.wait(timeout) if running else True

    # -- the writer's side
    def _blocking(self, fn, *args):
        """Run `fn` on a native thread under gevent (cooperatively awaited), directly otherwise."""
        if self._pool is None:
            if not _gevent_patched():
                return fn(*args)
            from gevent.threadpool import ThreadPool

            self._pool = ThreadPool(1)
        return self._pool.apply(fn, args)

    def _take(self) -> list[_Waiter] | None:
        """The next batch; [] when idle (and stopping: the loop then ends); None to keep waiting."""
        with self._lock:
            batch = self._pending[:self.max_batch]
            del self._pending[:self.max_batch]
            if not self._pending and not self._closing:
                self._wake.clear()
            if batch:
                return batch
            if self._closing or not self._wake.is_set():
                return []
            return None

    def _loop(self) -> None:
        batch: list[_Waiter] = []
        try:
            while True:
                woke = self._wake.wait(self.idle_s)
                batch = self._take()
                if batch is None:
                    continue
                if not batch:
                    with self._lock:
                        if self._pending:
                            continue  # an item came between the look and the lock
                        if woke and not self._closing:
                            continue
                        self._running = False
                    break
                self._run(batch)
                batch = []
        except BaseException as exc:  # killed (GreenletExit, SystemExit): no caller may wait forever
            with self._lock:
                self._running = False
                stranded, self._pending = batch + self._pending, []
            for waiter in stranded:
                if not waiter.done.is_set():
                    waiter.error = Closed(f"the writer stopped ({exc.__class__.__name__})")
                    waiter.done.set()
            raise
        finally:
            try:
                if self._on_idle is not None:
                    self._blocking(self._on_idle)
            except BaseException:
                logger.exception("group commit: idle hook failed")
            self._stopped.set()

    def _run(self, batch: list[_Waiter]) -> None:
        items = [w.item for w in batch]
        try:
            results = self._blocking(self._write_items, items)
            for waiter, result in zip(batch, results):
                waiter.result = result
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
            else:
                logger.warning("group commit: a batch of %d failed (%s); writing each alone", len(batch),
                               exc.__class__.__name__)
                for waiter in batch:
                    try:
                        waiter.result = self._blocking(self._write_items, [waiter.item])[0]
                    except Exception as one:
                        waiter.error = one
        done = [w for w in batch if w.error is None]
        if done and self._after is not None:
            try:  # before the callers are released: what they acknowledge is stored AND enqueued (if it can be)
                self._after([w.item for w in done], [w.result for w in done])
            except Exception:
                logger.exception("group commit: after-commit hook failed")
        for waiter in batch:
            waiter.done.set()
