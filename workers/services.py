"""Outside-system clients the worker builds once from settings, by name.

Each entry is `name -> "module:factory"`; the factory takes `settings` and returns the client.
Packages add their line here; actors get them with `runtime().service(name)`.
"""
from __future__ import annotations

import importlib
from typing import Any

from settings import Settings

FACTORIES: dict[str, str] = {
    "waha": "bridge.waha:client_from_settings",
    "yclients": "workers.yclients.api:api_from_settings",
    "yclients_interactive": "workers.yclients.api:interactive_api_from_settings",  # the install check
}


def build_services(settings: Settings, factories: dict[str, str] | None = None) -> dict[str, Any]:
    built = {}
    for name, target in (FACTORIES if factories is None else factories).items():
        module_name, _, attr = target.partition(":")
        built[name] = getattr(importlib.import_module(module_name), attr)(settings)
    return built
