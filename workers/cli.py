"""`aiadmin`: the support and operations command line (also `python -m workers.cli`).

Exit codes: 0 ok, 1 the thing asked about failed or was not found, 2 bad usage or configuration.
Commands live in small modules (cli_status, cli_failures, cli_sync); this module parses and dispatches.
"""
from __future__ import annotations

import argparse
import os
import sys

from settings import Settings
from workers.cli_common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliError, database

__all__ = ["main", "CliError", "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE"]


def _database(settings: Settings):
    return database(settings)


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


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's usage errors exit 2, which is our EXIT_USAGE too
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from workers import cli_disconnect, cli_failures, cli_status, cli_sync

    parser = _Parser(prog="aiadmin", description="AI Admin Connector: support and operations")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    sub.add_parser("migrate", help="apply pending database migrations (the Procfile release step)").set_defaults(
        handler=cmd_migrate)
    for module in (cli_status, cli_failures, cli_sync, cli_disconnect):
        module.register(sub)
    return parser


def main(argv=None, settings: Settings | None = None) -> int:
    from settings import ConfigError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2): return, do not exit, for callers like tests
        return int(exc.code or 0)
    try:
        settings = settings or Settings.from_env()
    except ConfigError as exc:
        print(f"aiadmin: configuration error: {exc}", file=sys.stderr)
        if "APP_ENV" not in os.environ:  # most likely a developer next to `make run`
            print('aiadmin: for the local `make run` stack use `make aiadmin ARGS="status SALON_ID"` '
                  "(it sets APP_ENV=development like make run does)", file=sys.stderr)
        return EXIT_USAGE
    try:
        return args.handler(settings, args)
    except CliError as exc:
        print(f"aiadmin: {exc}", file=sys.stderr)
        return exc.code
    except Exception as exc:  # an unreachable database or Redis: say which, not a traceback
        from peewee import PeeweeException
        from redis import RedisError

        if isinstance(exc, (PeeweeException, RedisError)):
            print(f"aiadmin: {type(exc).__name__}: {exc}", file=sys.stderr)
            return EXIT_FAILED
        raise


if __name__ == "__main__":
    sys.exit(main())
