"""`WS /marketplace/ws`: the salon's live status, from the process-wide fan-out, one writer per socket.

The salons come from the session token only (cookie, or `{"token": …}` as the first message); the
query may narrow them to one of the token's own salons and carry `last_seq` for a resume. Order:
register the queue (subscribe) FIRST, then send the snapshot, then only events with a higher seq.
"""
from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from collections import Counter

from flask import request
from simple_websocket import ConnectionClosed

from models import events
from models.live import snapshot_key
from runtime import json_limits, metrics
from web.context import ctx
from web.marketplace import messages, presentation, session, status, tokens
from web.marketplace.fanout import ENDED, RESYNC, fanout
from web.marketplace.ratelimit import limiter
from web.marketplace.security import origin_allowed

logger = logging.getLogger("aiadmin.web.ws")

PING_INTERVAL = 25
MAX_MESSAGE_SIZE = 4096
QUEUE_WAIT = 1.0  # the handler re-checks ws.connected at least this often
AUTH_WAIT = 10.0  # how long a cookie-less client has to send its token
CLOSE_GRACE = 1.0  # how long we wait for the client's answer to our close frame
MAX_SOCKETS_PER_IP = 10  # concurrent sockets per address in this process
CONNECTS_PER_MINUTE = 30  # new sockets per address per minute, across processes

_open_per_ip: Counter = Counter()
_open_lock = threading.Lock()


def register(sock) -> None:
    sock.route("/marketplace/ws")(status_socket)


def _send_error(ws, code: str, salon_id: int | None = None) -> None:
    ru, en = messages.API_ERRORS[code]
    text = en if messages.language() == "en" else ru
    ws.send(events.dumps(events.envelope(events.ERROR, 0, salon_id or 0, {"code": code, "message": text})))
    _close(ws, code)


def _close(ws, message: str) -> None:
    """Close from our side without leaving simple-websocket's reader thread behind.

    That thread only re-checks `connected` when it wakes (up to `ping_interval` later); a client that
    never answers the close frame would keep it, and a gunicorn worker's shutdown, waiting that long.
    """
    try:
        ws.close(reason=1008, message=message)
    except ConnectionClosed:
        return
    thread = getattr(ws, "thread", None)
    if thread is not None:
        thread.join(CLOSE_GRACE)  # the client's close reply normally ends it at once
        if thread.is_alive():
            try:
                ws.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _first_message(ws) -> dict:
    try:
        raw = ws.receive(timeout=AUTH_WAIT)
        return json_limits.loads_object(raw, max_bytes=MAX_MESSAGE_SIZE) if raw else {}
    except (json_limits.BadJson, TypeError):  # too deep, too large or not JSON: no token, so unauthorized
        return {}


def _counter(redis_client, salon_id: int) -> int:
    """The salon's current seq in Redis (it only grows, unless the snapshot was lost)."""
    return int(redis_client.hget(snapshot_key(salon_id), "seq") or 0)


def _resume_points(source: dict, salon_ids) -> dict[int, int]:
    """`last_seq` as a number (one salon) or {salon_id: seq}; anything else is ignored."""
    raw = source.get("last_seq")
    points: dict[int, int] = {}
    try:
        if isinstance(raw, str) and ":" in raw:  # the query form: "123:5,124:7"
            raw = dict(pair.split(":", 1) for pair in raw.split(",")[:50])
        if isinstance(raw, dict):
            points = {int(k): int(v) for k, v in raw.items() if int(k) in salon_ids}
        elif raw not in (None, "") and len(salon_ids) == 1:
            points = {next(iter(salon_ids)): int(raw)}
    except (TypeError, ValueError, OverflowError):  # "last_seq": Infinity is valid to Python's json
        return {}
    return points


def status_socket(ws):
    c = ctx()
    ip = session.client_ip()
    if not origin_allowed(request.headers.get("Origin"), c.settings.public_base_url, c.settings.is_production):
        logger.warning("websocket refused: origin %r not allowed", request.headers.get("Origin"))
        return _send_error(ws, "bad_origin")

    if limiter().hit(f"ws:{ip}", CONNECTS_PER_MINUTE, 60):
        return _send_error(ws, "too_many_connections")
    with _open_lock:
        if _open_per_ip[ip] >= MAX_SOCKETS_PER_IP:
            refused = True
        else:
            refused = False
            _open_per_ip[ip] += 1
    if refused:
        return _send_error(ws, "too_many_connections")
    metrics.websockets(+1)
    try:
        _serve(ws, c)
    except Exception as exc:
        # After the upgrade no HTTP error page can be sent; and flask-sock would leave the socket (and its
        # reader thread) open on any exception but ConnectionClosed. Say so on the socket and close it.

        if isinstance(exc, ConnectionClosed):
            raise
        logger.exception("status socket failed")
        try:
            _send_error(ws, "unavailable")
        except Exception:
            _close(ws, "unavailable")
    finally:
        metrics.websockets(-1)
        with _open_lock:
            _open_per_ip[ip] -= 1
            if _open_per_ip[ip] <= 0:
                del _open_per_ip[ip]


def _serve(ws, c) -> None:
    hello: dict = dict(request.args)
    cookie = request.cookies.get(session.COOKIE)
    if not cookie:
        hello = _first_message(ws)
    try:
        token = hello.get("token")
        claims = session.current(cookie or (token if isinstance(token, str) else ""))
    except tokens.TokenError as exc:
        return _send_error(ws, "token_expired" if exc.reason == "expired" else "unauthorized")

    salon_ids = set(claims.salon_ids)
    wanted = hello.get("salon_id")
    if wanted not in (None, ""):
        try:
            wanted = int(wanted)
        except (TypeError, ValueError, OverflowError):
            return _send_error(ws, "bad_request")
        if wanted not in salon_ids:  # a client may narrow to one of ITS salons, never widen
            return _send_error(ws, "forbidden_salon", wanted)
        salon_ids = {wanted}
    last = _resume_points(hello, salon_ids)
    reader = presentation.Reader.of(c.settings, messages.language())

    hub = fanout()
    sub = hub.subscribe(salon_ids)  # subscribe first ...
    try:
        # ... and only then look at the session generation, so a revocation in between is not missed.
        with c.database.connection_context():
            if session.ended(claims):
                return _send_error(ws, "session_ended")

        def send_snapshots():
            for salon_id in sorted(salon_ids):  # ... then the snapshot, so nothing falls in between
                snap = presentation.present_snapshot(status.snapshot(c.live, c.redis, salon_id), reader)
                seen = last.get(salon_id, -1)
                if snap["seq"] < seen:
                    # Redis went back in time (restarted empty): start the page over with a seq-0 snapshot,
                    # or the events published since (seq 1, 2, ...) would all look "already seen".
                    ws.send(events.dumps({**snap, "seq": 0}))
                    last[salon_id] = snap["seq"]
                    continue
                if snap["seq"] > seen:
                    ws.send(events.dumps(snap))
                last[salon_id] = max(last.get(salon_id, 0), snap["seq"])

        send_snapshots()
        while ws.connected:
            if time.time() >= claims.expires_at:
                return _send_error(ws, "token_expired")
            while ws.receive(timeout=0) is not None:  # drain client chatter; it carries no commands
                pass
            if sub.overflowed:
                sub.overflowed = False
                send_snapshots()
            try:
                item = sub.queue.get(timeout=QUEUE_WAIT)
            except queue.Empty:
                continue
            if item == RESYNC:
                send_snapshots()
                continue
            if item[0] == ENDED:  # uninstall, reinstall or take-over: sessions before that generation ended
                _, ended_salon, generation = item
                if generation > claims.generation(ended_salon):
                    return _send_error(ws, "session_ended", ended_salon)
                continue
            salon_id, seq, text = item
            if seq > last.get(salon_id, 0):
                ws.send(presentation.present_text(text, reader))
                last[salon_id] = seq
            elif seq < last.get(salon_id, 0) and _counter(c.redis, salon_id) < last[salon_id]:
                # Not a duplicate from the subscribe window: the snapshot was lost (Redis flushed or
                # restarted) and its counter began again. Start the page over with a seq-0 snapshot.
                send_snapshots()
    finally:
        hub.unsubscribe(sub)  # always released, whatever ended the connection
