"""The database handle: one proxy the models bind to, initialised by each composition root."""
from __future__ import annotations

import datetime
import os
from urllib.parse import urlparse

from peewee import DatabaseProxy, PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import parse as parse_db_url
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

database = DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
    "busy_timeout": 10000,
}


def utcnow() -> datetime.datetime:
    """Naive UTC timestamps everywhere (SQLite has no time zones)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def make_database(url: str):
    """A peewee database for `sqlite:///path` or `postgresql://...`; it does not connect."""
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else ":memory:"
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        if not path or path == ":memory:":
            return SqliteDatabase(":memory:", pragmas=SQLITE_PRAGMAS, autoconnect=False, check_same_thread=False,
                                  timeout=10, lock_type="IMMEDIATE")
        # Pooled like PostgreSQL: opening a connection per request (file open, pragmas) and closing it
        # (a WAL checkpoint when it was the last one), both under peewee's process-wide lock, was half of
        # a web thread's time under load (docs/performance.md). busy_timeout comes from the pragmas.
        return PooledSqliteDatabase(path, pragmas=SQLITE_PRAGMAS, autoconnect=False, check_same_thread=False,
                                    lock_type="IMMEDIATE", max_connections=256, stale_timeout=300, timeout=10)
    if scheme in ("postgres", "postgresql"):
        params = parse_db_url(url)
        params.setdefault("connect_timeout", 5)
        # Connect per request/message, but reuse connections: opening one costs ~5 ms on PostgreSQL.
        # Stale connections are recycled after 5 minutes; `close()` returns a connection to the pool.
        return PooledPostgresqlDatabase(autoconnect=False, autorollback=True, max_connections=64,
                                        stale_timeout=300, timeout=10, **params)
    raise ValueError(f"unsupported DATABASE_URL scheme {scheme!r} (use sqlite:/// or postgresql://)")


def init_database(url: str):
    """Build the database for `url` and bind the model proxy to it."""
    previous = database.obj
    if previous is not None and hasattr(previous, "close_all"):
        previous.close_all()  # re-initialising (tests, CLI) must not strand pooled connections
    db = make_database(url)
    database.initialize(db)
    return db


def is_sqlite(db) -> bool:
    return isinstance(db, SqliteDatabase)


def raw_connection(db):
    """A new DB-API connection configured like `db`'s own (SQLite pragmas; PostgreSQL in autocommit), outside
    peewee's pool and per-thread state: for a dedicated writer thread that owns it and closes it itself."""
    if is_sqlite(db):
        return SqliteDatabase._connect(db)  # sqlite3, isolation_level=None, the pragmas and busy timeout
    return PostgresqlDatabase._connect(db)
