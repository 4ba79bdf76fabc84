"""The process's container, as the web tier's handlers reach it: built once by `create_app`, kept on the app."""
from __future__ import annotations

from flask import current_app

from runtime.container import Container

EXTENSION = "aiadmin"


def ctx() -> Container:
    return current_app.extensions[EXTENSION]
