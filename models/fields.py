"""Portable field types (the same schema on SQLite and PostgreSQL)."""
from __future__ import annotations

import json

from peewee import TextField


class JSONField(TextField):
    """JSON stored as text: portable, and good enough for data we never query inside."""

    def db_value(self, value):
        return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)

    def python_value(self, value):
        return None if value is None else json.loads(value)
