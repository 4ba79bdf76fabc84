"""SQLite transactions take the write lock when they begin (BEGIN IMMEDIATE), so concurrent read-then-write
transactions wait (busy_timeout) instead of failing with "database is locked" (found by the redirect
benchmark: 16 threads registering salons got instant OperationalErrors, i.e. 503s, on a deferred BEGIN)."""
import threading

import pytest
from peewee import SqliteDatabase

from models.salon import Salon


def test_a_read_then_write_transaction_waits_for_a_concurrent_writer_instead_of_failing(database):
    if not isinstance(database, SqliteDatabase):
        pytest.skip("SQLite's deferred-transaction upgrade; PostgreSQL row locks behave differently")
    a_has_read, b_done = threading.Event(), threading.Event()
    errors = []

    def a():  # the registration's shape: read (for update), then write, in one transaction
        try:
            database.connect(reuse_if_open=True)
            with database.atomic():
                Salon.select().count()
                a_has_read.set()
                b_done.wait(0.5)  # B commits in between when transactions are deferred
                Salon.create(salon_id=1)
        except Exception as exc:
            errors.append(exc)
        finally:
            database.close()

    def b():
        try:
            a_has_read.wait(5)
            database.connect(reuse_if_open=True)
            with database.atomic():
                Salon.create(salon_id=2)
        except Exception as exc:
            errors.append(exc)
        finally:
            b_done.set()
            database.close()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert errors == []
    database.connect(reuse_if_open=True)
    assert sorted(s.salon_id for s in Salon.select()) == [1, 2]


def test_a_request_reuses_a_pooled_sqlite_connection(tmp_path):
    """connect/close per request must not reopen the file, re-run the pragmas and checkpoint the WAL each time."""
    from models.db import make_database

    db = make_database(f"sqlite:///{tmp_path / 'pool.db'}")
    db.connect()
    first = db.connection()
    db.close()
    db.connect()
    assert db.connection() is first
    assert db.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 10000
    db.close()
    db.close_all()
