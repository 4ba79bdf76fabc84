"""`aiadmin status` and `aiadmin timeline`: what support reads first."""
from __future__ import annotations

from runtime import retry_state
from runtime.render import dumps
from workers.cli.common import EXIT_OK, CliError, connect, out, positive_id
from workers.support.errors import NotFound
from workers.support.status import render_status, salon_status
from workers.sync.budget_wait import waiting_of
from workers.support.timeline import render_timeline, timeline


def register(sub) -> None:
    p = sub.add_parser("status", help="a salon's lifecycle, WhatsApp, activation, data counts, sync, welcome, failures")
    p.add_argument("salon_id", type=positive_id)
    p.add_argument("--json", action="store_true", help="stable machine-readable output")
    p.set_defaults(handler=cmd_status)
    p = sub.add_parser("timeline", help="every event of a salon, in order")
    p.add_argument("salon_id", type=positive_id)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_timeline)


def _retries(live, salon_id: int) -> list[dict]:
    return retry_state.read(live.redis, salon_id) if live is not None else []


def _live(container):
    """The live onboarding snapshot, when Redis answers; the report does not depend on it."""
    try:
        container.redis.ping()
    except Exception:
        return None
    return container.live


def cmd_status(container, args) -> int:
    connect(container)
    try:
        live = _live(container)
        report = salon_status(args.salon_id, live=live, retries=_retries(live, args.salon_id),
                              sync_waiting=waiting_of(live.redis, args.salon_id) if live is not None else None)
    except NotFound as exc:
        raise CliError(str(exc)) from None
    out(dumps(report) if args.json else render_status(report))
    return EXIT_OK


def cmd_timeline(container, args) -> int:
    connect(container)
    try:
        entries = timeline(args.salon_id)
    except NotFound as exc:
        raise CliError(str(exc)) from None
    out(dumps(entries) if args.json else render_timeline(args.salon_id, entries))
    return EXIT_OK
