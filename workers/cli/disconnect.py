"""`aiadmin disconnect SALON_ID [--yes]`: uninstall the application in YCLIENTS, then locally (§4.5)."""
from __future__ import annotations

import json
import sys

from runtime.yclients.errors import YclientsError
from runtime.yclients.ratelimit import RateLimitTimeout
from workers.cli.common import EXIT_OK, CliError, connect, out, positive_id
from workers.lifecycle.disconnect import disconnect
from workers.support.errors import NotFound
from workers.support.status import get_salon


def register(sub) -> None:
    p = sub.add_parser("disconnect", help="uninstall the app for a salon in YCLIENTS, then locally (irreversible)")
    p.add_argument("salon_id", type=positive_id)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_disconnect)


def cmd_disconnect(container, args) -> int:
    db = connect(container)
    try:
        get_salon(args.salon_id)
    except NotFound as exc:
        raise CliError(str(exc)) from None
    if not args.yes:
        prompt = (f"This uninstalls the application for salon {args.salon_id} in YCLIENTS (the owner has to "
                  f"connect it again from the marketplace) and deletes its WhatsApp session. "
                  f"Type the salon id to confirm: ")
        sys.stderr.write(prompt)  # stdout stays machine-readable with --json
        sys.stderr.flush()
        try:
            answer = input()
        except EOFError:
            answer = ""
        if answer.strip() != str(args.salon_id):
            raise CliError("disconnect aborted: the confirmation did not match the salon id")
    try:
        removed, effect = disconnect(db, args.salon_id, api=container.yclients_interactive, waha=container.gateway,
                                     live=container.live, source="support")
    except YclientsError as exc:
        raise CliError(f"YCLIENTS refused the uninstall of salon {args.salon_id}: {exc.status} "
                       f"{exc.message or exc}; nothing was changed here") from None
    except RateLimitTimeout:
        raise CliError(f"the YCLIENTS budget is busy right now; salon {args.salon_id} was not changed: "
                       "run the command again in a minute") from None
    result = {"salon_id": args.salon_id, "yclients": "uninstalled" if removed else "already_uninstalled",
              "local": effect.outcome, "detail": effect.detail}
    out(json.dumps(result, ensure_ascii=False, sort_keys=True) if args.json else
        f"salon {args.salon_id}: YCLIENTS {result['yclients'].replace('_', ' ')}; local {effect.outcome} "
        f"({effect.detail})")
    return EXIT_OK
