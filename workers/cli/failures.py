"""`aiadmin failed` and `aiadmin requeue`: list failed jobs and re-send their work."""
from __future__ import annotations

import sys

from models.failure import OPEN
from runtime.render import dumps
from workers.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliError, connect, out, positive_id
from workers.support.errors import NotFound
from workers.support.failures import STATUSES, failure_dict, failures, get_failure, render_failures
from workers.support.requeue import requeue_all
from workers.support.status import get_salon


def register(sub) -> None:
    p = sub.add_parser("failed", help="jobs that failed for good: actor, salon, error, attempts, time, status")
    p.add_argument("--salon", type=positive_id, metavar="SALON_ID")
    p.add_argument("--status", choices=["open", "requeued", "resolved", "all"], action="append",
                   help="which failures (repeatable; default: open and requeued)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_failed)
    p = sub.add_parser("requeue", help="re-send failed work: FAILURE_ID, or every open failure of --salon, or --all")
    p.add_argument("failure_id", nargs="?", type=positive_id)
    p.add_argument("--salon", type=positive_id, metavar="SALON_ID")
    p.add_argument("--all", action="store_true", help="every open failure")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_requeue)


def cmd_failed(container, args) -> int:
    connect(container)
    statuses = args.status or ["open", "requeued"]
    if "all" in statuses:
        statuses = list(STATUSES)
    rows = [failure_dict(f) for f in failures(args.salon, statuses)]
    out(dumps(rows) if args.json else render_failures(rows))
    return EXIT_OK


def cmd_requeue(container, args) -> int:
    chosen = [x for x in (args.failure_id is not None, args.salon is not None, args.all) if x]
    if len(chosen) != 1:
        raise CliError("requeue needs exactly one of FAILURE_ID, --salon SALON_ID or --all", EXIT_USAGE)
    connect(container)
    try:
        if args.failure_id is not None:
            # An explicit id is re-queued whatever its status: the actors are idempotent.
            rows = [get_failure(args.failure_id)]
        elif args.salon is not None:
            get_salon(args.salon)
            rows = failures(args.salon, [OPEN])
        else:
            rows = failures(None, [OPEN])
    except NotFound as exc:
        raise CliError(str(exc)) from None
    done, refused = requeue_all(container.broker, rows)
    if args.json:
        out(dumps([r.asdict() for r in done]))
    elif not done and not refused:
        out("nothing to re-queue")
    else:
        for r in done:
            note = "" if r.dead_letter_found else " (dead letter already gone; rebuilt from the failure record)"
            out(f"re-queued failure {r.failure_id} ({r.actor}) as message {r.message_id}{note}")
    for reason in refused:
        print(f"aiadmin: not re-queued: {reason}", file=sys.stderr)
    return EXIT_FAILED if refused else EXIT_OK
