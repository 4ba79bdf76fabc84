"""Serve a sandbox WSGI app on a port (threaded werkzeug server; enough for local use and tests)."""
from __future__ import annotations

import argparse
import os

from werkzeug.serving import run_simple


def main(factory, name: str, default_port: int, argv=None):
    parser = argparse.ArgumentParser(prog=f"python -m sandbox.{name}")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", default_port)))
    args = parser.parse_args(argv)
    run_simple(args.host, args.port, factory(), threaded=True, use_reloader=False)
