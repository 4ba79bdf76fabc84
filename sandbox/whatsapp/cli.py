"""Drive the running simulator like a phone: `python -m sandbox.whatsapp scan salon_42 --phone 79001234567`."""
from __future__ import annotations

import argparse
import json
import os
import sys

import requests

COMMANDS = ("scan", "enter-code", "incoming", "remote-logout", "ban", "sessions", "messages", "advance", "faults")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=argparse.SUPPRESS, help="the running simulator (default: $WAHA_URL)")
    parser = argparse.ArgumentParser(prog="python -m sandbox.whatsapp", description=__doc__, parents=[common])
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser = sub.add_parser
    sub.add_parser = lambda *a, **k: add_parser(*a, parents=[common], **k)  # --url before or after the command
    p = sub.add_parser("scan", help="scan the QR code currently shown for SESSION")
    p.add_argument("session")
    p.add_argument("--phone", help="the phone's own number (default: derived from the session name)")
    p.add_argument("--payload", help="the QR text read by the camera (default: whatever is shown now)")
    p = sub.add_parser("enter-code", help="type a pairing code into the phone")
    p.add_argument("session")
    p.add_argument("code")
    p.add_argument("--phone", help="the phone typing it (default: the number the code was requested for)")
    p = sub.add_parser("incoming", help="a client writes to the salon")
    p.add_argument("session")
    p.add_argument("--from", dest="sender", required=True)
    p.add_argument("--text", required=True)
    p = sub.add_parser("remote-logout", help="unlink the device from the phone")
    p.add_argument("session")
    p = sub.add_parser("ban", help="WhatsApp restricts the account (463: reach-out timelock; else a temporary ban)")
    p.add_argument("session")
    p.add_argument("--code", type=int, default=101)
    sub.add_parser("sessions", help="list sessions")
    p = sub.add_parser("messages", help="messages sent through the simulator")
    p.add_argument("--session")
    p = sub.add_parser("advance", help="move the simulator's clock forward (QR rotation / expiry)")
    p.add_argument("seconds", type=float)
    p = sub.add_parser("faults", help="set fault knobs, e.g. faults send_5xx=2 down=true send_463=false")
    p.add_argument("settings", nargs="*")
    return parser


def _value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    base = (getattr(args, "url", None) or os.environ.get("WAHA_URL") or "http://127.0.0.1:5002").rstrip("/")
    api_key = os.environ.get("WAHA_API_KEY", "dev-waha-api-key")
    if args.command == "scan":
        call = ("POST", f"/_sim/{args.session}/scan", {"phone": args.phone, "payload": args.payload})
    elif args.command == "enter-code":
        call = ("POST", f"/_sim/{args.session}/enter-code", {"code": args.code, "phone": args.phone})
    elif args.command == "incoming":
        call = ("POST", f"/_sim/{args.session}/incoming", {"from": args.sender, "text": args.text})
    elif args.command == "remote-logout":
        call = ("POST", f"/_sim/{args.session}/remote-logout", {})
    elif args.command == "ban":
        call = ("POST", f"/_sim/{args.session}/ban", {"code": args.code})
    elif args.command == "sessions":
        call = ("GET", "/api/sessions?all=true", None)
    elif args.command == "messages":
        call = ("GET", "/_sim/messages" + (f"?session={args.session}" if args.session else ""), None)
    elif args.command == "advance":
        call = ("POST", "/_sim/clock", {"advance": args.seconds})
    else:
        settings = dict(item.split("=", 1) for item in args.settings if "=" in item)
        call = ("POST", "/_sim/faults", {k: _value(v) for k, v in settings.items()})
    method, path, payload = call
    payload = {k: v for k, v in (payload or {}).items() if v is not None} if payload is not None else None
    try:
        response = requests.request(method, base + path, json=payload, headers={"X-Api-Key": api_key}, timeout=10)
    except requests.RequestException as exc:
        print(f"simulator not reachable at {base}: {type(exc).__name__}", file=sys.stderr)
        return 2
    text = json.dumps(response.json(), ensure_ascii=False, indent=2) if response.content else ""
    print(text, file=sys.stdout if response.ok else sys.stderr)
    return 0 if response.ok else 1
