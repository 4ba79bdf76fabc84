"""What the web tier's handlers need, built once by `create_app` and passed to them through the app."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from runtime.settings import Settings


@dataclass
class WebContext:
    settings: Settings
    database: Any
    redis: Any
    jobs: Any
    live: Any
    extras: dict[str, Any] = field(default_factory=dict)


def ctx() -> WebContext:
    return current_app.extensions["aiadmin"]
