"""redis-py's connection check, without a trip through gevent's hub.

Every time redis-py takes a connection from its pool it asks whether unread data is waiting on it (a reply
left behind would be read as the next command's): a poll with timeout 0. In a gevent-patched process
(the web tier) `select.poll` is gevent's, which builds watchers and a Timeout for that zero wait; profiled
under load it was ~10 % of a web worker's CPU on the redirect (docs/performance/redirect.md, round 3).
A zero-timeout poll never blocks, so the OS's own poll answers it cooperatively too. Any wait longer than
zero (a pub/sub `get_message(timeout=...)`) still goes through gevent: it must not block the event loop.
"""
from __future__ import annotations

import functools
import select

from redis._parsers import _HiredisParser
from redis.utils import HIREDIS_AVAILABLE


@functools.cache
def _os_poll():
    """The OS's poll (gevent's original once it patched `select`); asked after the patch, at the first check."""
    try:
        from gevent.monkey import get_original
    except ImportError:  # pragma: no cover - gevent is a dependency
        return select.poll
    return get_original("select", "poll")


class OsPollReadiness(_HiredisParser):
    """redis-py's hiredis parser; `can_read(0)` asks the OS (its answer is the same as gevent's, at once)."""

    def can_read(self, timeout: float = 0) -> bool:
        if timeout == 0 and self._reader is not None and self._sock is not None and not self._reader.has_data():
            poller = _os_poll()()
            poller.register(self._sock, select.POLLIN)
            if not poller.poll(0):
                return False  # nothing waiting (the usual answer); otherwise redis-py's own check decides
        return super().can_read(timeout)


def parser_class():
    """The parser every Redis client of ours uses (None: redis-py's default, when hiredis is not installed)."""
    return OsPollReadiness if HIREDIS_AVAILABLE else None
