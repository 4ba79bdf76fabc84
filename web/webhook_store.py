"""The web process's single writer of webhook deliveries: group commit, then one Redis pipeline of jobs.

Each request hands its delivery row to `store()` and waits until the transaction holding it has
committed; only then does it answer 2xx (stored before the acknowledgement, even under SIGKILL right
after). Concurrent deliveries share one transaction (runtime/group_commit.py), which is what lifts intake
from a commit per delivery to a commit per batch. The batch's `process_webhook` jobs are enqueued after
the commit in one pipeline; if that fails the rows stay unprocessed and the clock's sweep re-enqueues them.

The writer owns one raw connection (models.db.raw_connection), opened on first use and closed after a
few idle seconds, so it never shares peewee's per-thread state with the request handlers.
"""
from __future__ import annotations

import logging

from models.db import is_sqlite, raw_connection
from models.webhook_delivery import insert_batch
from runtime.group_commit import GroupCommit

logger = logging.getLogger("aiadmin.web.webhooks")


class DeliveryStore:
    def __init__(self, database, jobs, *, max_batch: int = 500, idle_s: float = 2.0):
        self.database = database
        self.sqlite = is_sqlite(database.obj if hasattr(database, "obj") else database)  # a DatabaseProxy too
        self.jobs = jobs
        self._connection = None
        self._writer = GroupCommit(self._write, after=self._enqueue, on_idle=self._disconnect,
                                   max_batch=max_batch, idle_s=idle_s)

    def store(self, row: tuple) -> int:
        """Commit `row` (models.webhook_delivery.new_row) with the current batch; its id."""
        return self._writer.submit(row)

    def close(self, timeout: float | None = 30) -> bool:
        return self._writer.close(timeout)

    def _write(self, rows: list[tuple]) -> list[int]:
        if self._connection is None:
            self._connection = raw_connection(self.database)
        try:
            return insert_batch(self._connection, rows, sqlite=self.sqlite)
        except Exception:
            self._disconnect()  # a broken connection must not fail the next batch too
            raise

    def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:
                pass

    def _enqueue(self, rows: list[tuple], ids: list[int]) -> None:
        try:
            self.jobs.process_webhooks(ids)
        except Exception as exc:  # stored already: the clock's sweep re-enqueues them
            logger.warning("could not enqueue %d deliveries (%s); left for the sweep", len(ids),
                           exc.__class__.__name__)
