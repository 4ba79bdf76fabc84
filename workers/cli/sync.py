"""`aiadmin resync`, `aiadmin purge` and `aiadmin ping`: commands that send work to the workers."""
from __future__ import annotations

import json
import sys
import time
import uuid

from models.live import channel, snapshot_key
from workers.cli.common import EXIT_FAILED, EXIT_OK, CliError, connect, out, positive_id
from workers.lifecycle.purge import purge_salon
from workers.support.errors import NotFound
from workers.support.status import get_salon
from workers.sync.salon_sync import SYNCABLE_STATES
from workers.sync_watch import QUIET_AFTER, Rows, why_quiet


def register(sub) -> None:
    p = sub.add_parser("resync", help="enqueue a full sync of a salon; --wait shows progress until it ends")
    p.add_argument("salon_id", type=positive_id)
    p.add_argument("--wait", action="store_true", help="follow the live sync events; exit 0 done, 1 failed")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait (default 3600)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_resync)
    p = sub.add_parser("purge", help="delete a salon's synced data (asks to type the salon id)")
    p.add_argument("salon_id", type=positive_id)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_purge)
    p = sub.add_parser("ping", help="enqueue a diagnostic job and report how fast a worker picked it up")
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_ping)


def _salon(salon_id: int):
    try:
        return get_salon(salon_id)
    except NotFound as exc:
        raise CliError(str(exc)) from None


def progress_line(data: dict, width: int = 30) -> str:
    done, total = int(data.get("done") or 0), int(data.get("total") or 0)
    fraction = min(1.0, done / total) if total else (1.0 if data.get("status") == "done" else 0.0)
    filled = int(round(fraction * width))
    return (f"[{'#' * filled}{'.' * (width - filled)}] {fraction * 100:5.1f}%  "
            f"{data.get('entity') or '-'} {done}/{total or '?'}  {data.get('status')}")


def _latest_sync(client, salon_id: int) -> dict | None:
    """The snapshot's stored `sync` event with its seq (a fallback if a pub/sub message was missed)."""
    raw = client.hget(snapshot_key(salon_id), "sync")
    return json.loads(raw) if raw else None


def wait_for_sync(client, salon_id: int, since_seq: int, pubsub, timeout: float, show, quiet=None,
                  quiet_after: float = 5.0) -> dict | None:
    """Follow `sync` events newer than `since_seq` until done/failed; returns the final event or None.
    After `quiet_after` seconds without a new event, `quiet()` says why (and again every `quiet_after`)."""
    deadline = time.monotonic() + timeout
    # The snapshot is looked at only after 2 s without a message: at once, it could be ahead of messages still in
    # flight (published a moment before), and the progress lines they carry would be skipped as older.
    last_poll = time.monotonic()
    last_said = time.monotonic()
    while time.monotonic() < deadline:
        if quiet is not None and time.monotonic() - last_said >= quiet_after:
            quiet()
            last_said = time.monotonic()
        event = None
        message = pubsub.get_message(timeout=0.5)
        if message and message.get("type") == "message":
            event = json.loads(message["data"])
        elif time.monotonic() - last_poll > 2.0:
            last_poll = time.monotonic()
            event = _latest_sync(client, salon_id)
        if not event or event.get("type") != "sync" or int(event.get("seq", 0)) <= since_seq:
            continue
        since_seq = int(event.get("seq", 0))
        last_said = time.monotonic()
        show(event["data"])
        status = event["data"].get("status")
        if status == "done" or (status == "failed" and not event["data"].get("retry_at")):
            return event  # a failed attempt with a retry_at is not the end: the next attempt is scheduled
    return None


def cmd_resync(container, args) -> int:
    connect(container)
    salon = _salon(args.salon_id)
    if salon.state not in SYNCABLE_STATES:  # the worker would skip it and --wait would wait in vain
        raise CliError(f"salon {args.salon_id} is {salon.state}: only an active salon is synced")
    jobs = container.jobs
    if not args.wait:
        message = jobs.sync_salon(args.salon_id, "full")
        out(json.dumps({"salon_id": args.salon_id, "message_id": message.message_id, "status": "enqueued"})
            if args.json else f"enqueued a full sync of salon {args.salon_id} (message {message.message_id})")
        return EXIT_OK
    client = container.redis
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel(args.salon_id))  # subscribe first, then read seq: nothing is lost in between
    try:
        since = int(client.hget(snapshot_key(args.salon_id), "seq") or 0)
        message = jobs.sync_salon(args.salon_id, "full")
        tty = sys.stdout.isatty() and not args.json
        shown = []
        rows = Rows()

        def write(line):
            sys.stdout.write(("\r\033[K" + line) if tty else line + "\n")
            sys.stdout.flush()

        def show(data):
            rows.update(data)
            line = progress_line(data) + rows.suffix()
            if args.json or (shown and shown[-1] == line):
                return
            shown.append(line)
            write(line)

        def quiet():  # never sit silent: say what the sync waits for
            if args.json:
                return
            try:
                reason = why_quiet(client, container.settings, args.salon_id)
            except Exception as exc:
                reason = f"no progress yet ({type(exc).__name__} while asking why)"
            shown.append(reason)
            write(reason)

        if not args.json:
            out(f"full sync of salon {args.salon_id} enqueued (message {message.message_id}); waiting…")
        final = wait_for_sync(client, args.salon_id, since, pubsub, args.timeout, show, quiet,
                              quiet_after=QUIET_AFTER)
    finally:
        pubsub.close()
    if tty:
        sys.stdout.write("\n")
    status = final["data"]["status"] if final else "timeout"
    if args.json:
        out(json.dumps({"salon_id": args.salon_id, "message_id": message.message_id, "status": status,
                        "last_event": final["data"] if final else None}, ensure_ascii=False))
    elif final is None:
        out(f"no end of the sync within {args.timeout:g}s; see `aiadmin status {args.salon_id}`")
    else:
        out(f"sync {status}" + (f": {final['data'].get('message')}" if final["data"].get("message") else ""))
    return EXIT_OK if status == "done" else EXIT_FAILED


def cmd_purge(container, args) -> int:
    connect(container)
    _salon(args.salon_id)
    if not args.yes:
        prompt = (f"This deletes salon {args.salon_id}'s synced data (categories, services, staff, clients, "
                  f"records), webhook deliveries, sync runs and outbound messages; the salon row and its "
                  f"timeline stay. Type the salon id to confirm: ")
        try:
            answer = input(prompt)
        except EOFError:
            answer = ""
        if answer.strip() != str(args.salon_id):
            raise CliError("purge aborted: the confirmation did not match the salon id")
    result = purge_salon(args.salon_id) or {}
    out(json.dumps(result, ensure_ascii=False, default=str, sort_keys=True) if args.json
        else f"purged salon {args.salon_id}: " + ", ".join(f"{k}={v}" for k, v in sorted(result.items())))
    return EXIT_OK


def cmd_ping(container, args) -> int:
    client = container.redis
    token = uuid.uuid4().hex
    container.jobs.ping(token, time.time())
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        value = client.lpop(f"aiadmin:ping:{token}")
        if value is not None:
            latency_ms = round(float(value) * 1000, 1)
            out(json.dumps({"status": "ok", "pickup_ms": latency_ms}) if args.json
                else f"pong: a worker picked the job up after {latency_ms} ms")
            return EXIT_OK
        time.sleep(0.02)
    raise CliError(f"no worker answered within {args.timeout:g}s (is a worker consuming the 'diagnostics' queue?)")
