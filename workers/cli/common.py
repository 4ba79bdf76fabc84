"""What every `aiadmin` command shares: exit codes, the error type, argument types, output."""
from __future__ import annotations

import argparse
import sys

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED):
        super().__init__(message)
        self.code = code


def connect(container):
    """The container's database, connected (a command runs outside any request or message)."""
    container.database.connect(reuse_if_open=True)
    return container.database


def positive_id(text: str) -> int:
    """argparse type for salon and failure ids: a clear usage error (exit 2) instead of a traceback."""
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
