"""Cooperative database drivers for gevent processes (gunicorn's gevent web worker).

gevent makes sockets cooperative but not psycopg2, a C extension that waits in libpq: without this every
PostgreSQL query blocks the worker's whole event loop. `cooperate()` installs psycogreen's wait callback,
only where gevent has patched the process (so threads, tests and the workers keep the plain driver).
"""
from __future__ import annotations


def gevent_patched() -> bool:
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a dependency
        return False
    return monkey.is_module_patched("socket")


def cooperate() -> bool:
    """psycopg2 waits through gevent (psycogreen) in a gevent-patched process; True when applied."""
    if not gevent_patched():
        return False
    from psycogreen.gevent import patch_psycopg

    patch_psycopg()
    return True
