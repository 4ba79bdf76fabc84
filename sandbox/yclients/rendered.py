"""Generated clients and records as JSON bytes, rendered once per item: a page is their join.

Generating and encoding 200 items per page took most of the sandbox's CPU in the budget-lifted sync
benchmark, on the same 2 cores as the worker and the database (docs/performance.md §3). Items are
rendered on first use (or all at once: `POST /_sandbox/prerender`) and pages are assembled from the
cached bytes; anything that changes an item (a deleted record, the naive-datetimes fault) is rendered
afresh, so answers stay what the uncached sandbox says: same items, same envelope, same paging.
"""
from __future__ import annotations

import threading

import orjson
from flask import Response

_OPTIONS = orjson.OPT_SORT_KEYS  # jsonify sorts keys too


def dumps(value) -> bytes:
    return orjson.dumps(value, option=_OPTIONS)


class Rendered:
    """Per salon and list ("clients"/"records"), item index -> its JSON bytes."""

    def __init__(self):
        self._items: dict[tuple, dict[int, bytes]] = {}
        self._lock = threading.Lock()

    def _cache(self, data, kind: str) -> dict[int, bytes]:
        key = (data.spec.salon_id, data.anchor, kind)
        cache = self._items.get(key)
        if cache is None:
            with self._lock:
                cache = self._items.setdefault(key, {})
        return cache

    def item(self, data, kind: str, index: int) -> bytes:
        cache = self._cache(data, kind)
        body = cache.get(index)
        if body is None:
            body = cache[index] = dumps(data.client(index) if kind == "clients" else data.record(index))
        return body

    def prerender(self, data) -> dict:
        for index in range(data.spec.clients):
            self.item(data, "clients", index)
        for index in range(data.spec.records):
            self.item(data, "records", index)
        return {"salon_id": data.spec.salon_id, "clients": data.spec.clients, "records": data.spec.records}


def page(items: list[bytes], meta: dict) -> Response:
    """The {success, data, meta} envelope around already rendered items (as `marketplace.envelope` makes it)."""
    body = b'{"data":[' + b",".join(items) + b'],"meta":' + dumps(meta) + b',"success":true}\n'
    return Response(body, status=200, mimetype="application/json")
