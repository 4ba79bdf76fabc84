"""`python -m sandbox.yclients serve|webhook ...`: run the sandbox, or make it send a webhook to our service.

    python -m sandbox.yclients serve --port 5003
    python -m sandbox.yclients webhook record update --salon 962302 --id 9623020000001
    python -m sandbox.yclients webhook client create --salon 962302
    python -m sandbox.yclients webhook uninstall --salon 962302
    python -m sandbox.yclients webhook freeze --salon 962302

The sandbox process sends the webhook itself (it remembers the `webhook_urls` each salon registered);
`--sandbox` is its URL (default http://127.0.0.1:$YCLIENTS_SANDBOX_PORT or 5003).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import requests


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] == "serve":
        from sandbox.serve import main as serve
        from sandbox.yclients.app import create_app

        serve(create_app, "yclients", 5003, argv or ["serve"])
        return 0
    parser = argparse.ArgumentParser(prog="python -m sandbox.yclients webhook")
    parser.add_argument("command", choices=["webhook"])
    parser.add_argument("kind", choices=["record", "client", "uninstall", "freeze"])
    parser.add_argument("status", nargs="?", choices=["create", "update", "delete"])
    parser.add_argument("--salon", type=int, required=True)
    parser.add_argument("--id", type=int, default=None, help="resource id (default: a new one for create)")
    parser.add_argument("--comment", default="")
    parser.add_argument("--url", default="", help="send here instead of the URL the salon registered")
    parser.add_argument("--sandbox", default=f"http://127.0.0.1:{os.environ.get('YCLIENTS_SANDBOX_PORT', '5003')}")
    args = parser.parse_args(argv)
    if args.kind in ("record", "client") and not args.status:
        parser.error("record/client webhooks need create, update or delete")
    body = {"kind": args.kind, "status": args.status, "salon_id": args.salon, "resource_id": args.id,
            "comment": args.comment, "url": args.url}
    response = requests.post(f"{args.sandbox.rstrip('/')}/_sandbox/webhooks", json=body, timeout=20)
    print(json.dumps(response.json(), ensure_ascii=False, indent=2))
    return 0 if response.ok and 200 <= response.json().get("status", 0) < 300 else 1
