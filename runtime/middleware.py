"""Cross-cutting worker behaviour: a database connection per message, log context, failure records."""
from __future__ import annotations

import functools
import inspect
import logging
import threading
import traceback

import dramatiq
from dramatiq.middleware import Middleware

from runtime.failures import record_failure

logger = logging.getLogger("aiadmin.worker")

_context = threading.local()


def current_message_context() -> dict:
    return getattr(_context, "value", {})


class DatabaseConnection(Middleware):
    """Open the connection before each message and close it after, so nothing leaks across messages."""

    def __init__(self, database):
        self.database = database

    def before_process_message(self, broker, message):
        self.database.connect(reuse_if_open=True)

    def _close(self):
        if not self.database.is_closed():
            self.database.close()

    def after_process_message(self, broker, message, *, result=None, exception=None):
        self._close()

    def after_skip_message(self, broker, message):
        self._close()


@functools.lru_cache(maxsize=None)
def _first_is_salon_id(fn) -> bool:
    # Asked for every message by two middlewares; inspect.signature is the costly part, and an actor's
    # parameters never change: once per actor function.
    params = list(inspect.signature(fn).parameters)
    return bool(params) and params[0] == "salon_id"


def salon_id_of(broker, message) -> int | None:
    """By convention an actor whose first parameter is `salon_id` is about that salon."""
    try:
        first_is_salon_id = _first_is_salon_id(broker.get_actor(message.actor_name).fn)
    except (dramatiq.ActorNotFound, TypeError, ValueError):
        return None
    if "salon_id" in message.kwargs:
        return _int_or_none(message.kwargs["salon_id"])
    if first_is_salon_id and message.args:
        return _int_or_none(message.args[0])
    return None


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class LogContext(Middleware):
    """Expose message id, actor and salon to log records (see runtime/logs.py for the formatter)."""

    def before_process_message(self, broker, message):
        _context.value = {"message_id": message.message_id, "actor": message.actor_name,
                          "salon_id": salon_id_of(broker, message)}

    def after_process_message(self, broker, message, *, result=None, exception=None):
        _context.value = {}

    after_skip_message = lambda self, broker, message: setattr(_context, "value", {})  # noqa: E731


class FailureRecorder(Middleware):
    """Record a message that failed for good (retries exhausted, `throws`, age limit) in the failures table."""

    def after_process_message(self, broker, message, *, result=None, exception=None):
        if exception is not None and message.failed:
            actor = broker.get_actor(message.actor_name)
            throws = message.options.get("throws") or actor.options.get("throws")
            permanent = bool(throws and isinstance(exception, throws))
            self.record(broker, message, exception, permanent)

    def after_skip_message(self, broker, message):
        if message.failed:
            self.record(broker, message, None, False)

    def record(self, broker, message, exception, permanent):
        try:
            record_failure(
                message,
                salon_id=salon_id_of(broker, message),
                error_type=type(exception).__name__ if exception else "AgeLimitExceeded",
                error=_describe(exception),
                permanent=permanent,
            )
        except Exception:  # the failure record must never hide the original failure
            logger.exception("could not record failure of %s (%s)", message.actor_name, message.message_id)
        else:
            logger.warning("job failed for good: %s %s", message.actor_name, message.message_id)


def _describe(exception) -> str:
    if exception is None:
        return "message expired before it could run (age limit)"
    text = "".join(traceback.format_exception_only(type(exception), exception)).strip()
    return text[:2000]
