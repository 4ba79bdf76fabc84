"""What every `aiadmin` command shares: exit codes, the error type, and per-command dependencies."""
from __future__ import annotations

import sys

from runtime.settings import Settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED):
        super().__init__(message)
        self.code = code


def database(settings: Settings):
    from models.db import init_database

    db = init_database(settings.database_url)
    db.connect(reuse_if_open=True)
    return db


def broker(settings: Settings):
    """An enqueue-only broker (the worker's middleware runs in the worker, not here)."""
    from workers import registry
    from runtime.broker import build_broker

    built = build_broker(settings)
    registry.declare(built)  # so a re-queue can check the actor still exists
    return built


def redis(settings: Settings):
    from runtime.redis_client import redis_client

    return redis_client(settings)


def positive_id(text: str) -> int:
    """argparse type for salon and failure ids: a clear usage error (exit 2) instead of a traceback."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
