"""Ordered schema migrations (`NNNN_slug.py` with `up`/`down`), applied by `aiadmin migrate`.

Files here are never edited after release; each declares frozen copies of the tables it creates.
"""
from __future__ import annotations

from pathlib import Path

from playhouse.migrations import Runner

DIRECTORY = Path(__file__).resolve().parent


def runner(db) -> Runner:
    return Runner(db, directory=str(DIRECTORY), table_name="schema_migration")


def migrate(db) -> list[str]:
    """Apply pending migrations; returns the names applied (empty when up to date)."""
    return runner(db).up()


def pending(db) -> list[str]:
    return [m.name for m in runner(db).status() if m.path is not None and not m.applied]
