"""The polling answer made small: gzip when the browser accepts it, and 304 when nothing changed.

The page polls every few seconds while its websocket is down. Most polls find the same snapshot, so
the answer carries an ETag over what the page shows (not the snapshot's `ts`, which changes every
call); the page sends it back in If-None-Match and gets a bodiless 304. Standard library only.
"""
from __future__ import annotations

import gzip
import hashlib

from flask import Response, request

from models import events

MIN_GZIP_BYTES = 256  # below this the gzip header costs more than it saves


def etag_of(snap: dict) -> str:
    stable = events.dumps({"seq": snap.get("seq"), "data": snap.get("data"), "slots": snap.get("slots")})
    return '"' + hashlib.sha256(stable.encode()).hexdigest()[:20] + '"'


def conditional_json(snap: dict) -> Response:
    """`snap` as JSON: 304 if the page already has it, gzip-compressed if accepted and worth it."""
    tag = etag_of(snap)
    if tag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response = Response(status=304)
    else:
        body = events.dumps(snap).encode()
        response = Response(body, mimetype="application/json")
        if len(body) >= MIN_GZIP_BYTES and "gzip" in request.headers.get("Accept-Encoding", "").lower():
            response.set_data(gzip.compress(body, compresslevel=6, mtime=0))
            response.headers["Content-Encoding"] = "gzip"
    response.headers["ETag"] = tag
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Accept-Encoding")
    response.vary.add("Accept-Language")
    return response
