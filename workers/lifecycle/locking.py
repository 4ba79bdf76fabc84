"""One writer per salon: a transaction that serialises every lifecycle/webhook change of a salon.

State-based idempotency ("uninstall is a no-op when already uninstalled", "an update older than
the stored one is ignored") is only sound if the read and the write cannot interleave with another
worker's. PostgreSQL: a transaction-scoped advisory lock on the salon. SQLite: BEGIN IMMEDIATE,
which takes the (single) write lock up front, so two readers cannot both decide to write.
"""
from __future__ import annotations

import contextlib

from peewee import DatabaseProxy, PostgresqlDatabase, SqliteDatabase

# First key of the two-key advisory lock: a namespace so we never collide with other salon locks.
ADVISORY_NAMESPACE = 6_0601


def _engine(db):
    return db.obj if isinstance(db, DatabaseProxy) else db


@contextlib.contextmanager
def salon_lock(db, salon_id: int):
    engine = _engine(db)
    if isinstance(engine, SqliteDatabase) and engine.transaction_depth() == 0:
        with engine.atomic(lock_type="IMMEDIATE") as txn:
            yield txn
        return
    with engine.atomic() as txn:
        if isinstance(engine, PostgresqlDatabase):
            engine.execute_sql("SELECT pg_advisory_xact_lock(%s, %s)",
                               (ADVISORY_NAMESPACE, int(salon_id) % 2_147_483_647))
        yield txn
