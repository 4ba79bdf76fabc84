"""`aiadmin`: the support and operations command line (also `python -m workers.cli`).

Exit codes: 0 ok, 1 the thing asked about failed or was not found, 2 bad usage or configuration.
"""
from __future__ import annotations

import argparse
import sys

from settings import Settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED):
        super().__init__(message)
        self.code = code


def _database(settings: Settings):
    from models.db import init_database

    db = init_database(settings.database_url)
    db.connect(reuse_if_open=True)
    return db


def cmd_migrate(settings: Settings, args) -> int:
    import migrations

    db = _database(settings)
    applied = migrations.migrate(db)
    if applied:
        for name in applied:
            print(f"applied {name}")
    else:
        print("database is up to date")
    return EXIT_OK


COMMANDS = {"migrate": cmd_migrate}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aiadmin", description="AI Admin Connector: support and operations")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("migrate", help="apply pending database migrations (the Procfile release step)")
    return parser


def main(argv=None, settings: Settings | None = None) -> int:
    from settings import ConfigError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = settings or Settings.from_env()
    except ConfigError as exc:
        print(f"aiadmin: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return COMMANDS[args.command](settings, args)
    except CliError as exc:
        print(f"aiadmin: {exc}", file=sys.stderr)
        return exc.code


if __name__ == "__main__":
    sys.exit(main())
