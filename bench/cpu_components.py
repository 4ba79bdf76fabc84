"""Thread CPU per component: what each named function costs the thread that runs it while a benchmark drives it.

`with components({"label": (owner, "attribute"), ...}) as spent:` replaces each attribute with a wrapper that adds
the `time.thread_time()` spent inside it to `spent[label]` (and counts the calls in `spent.calls[label]`), and puts
the originals back on exit. Thread CPU, not wall time: a blocking Redis wait costs what the thread spends on it, not
the wait. Components may nest (the handler and the calls it makes each count); the wrapper's own cost (two
`thread_time()` calls, ~1 µs) is in every figure. Used by `python -m bench.redirect_split --components`;
`garbage_collections()` does the same for the cyclic garbage collector (its `gc_ms_per_redirect`).
"""
from __future__ import annotations

import collections
import contextlib
import functools
import gc
import time


_INHERITED = object()


class Spent(collections.Counter):
    """label -> thread CPU seconds; `calls` label -> number of calls."""

    def __init__(self, labels=()):
        super().__init__()
        self.labels = list(labels)
        self.calls: collections.Counter = collections.Counter()

    def reset(self) -> None:
        self.clear()
        self.calls.clear()

    def per(self, n: int) -> dict[str, dict]:
        """Milliseconds and calls per unit of work (a redirect, a check), in the order the parts were given."""
        return {label: {"ms": round(1000 * self[label] / n, 3), "calls": round(self.calls[label] / n, 2)}
                for label in self.labels}


def _timed(fn, label: str, spent: Spent):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        started = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[label] += time.thread_time() - started
            spent.calls[label] += 1

    return wrapper


@contextlib.contextmanager
def components(targets: dict[str, tuple[object, str]]):
    spent = Spent(targets)
    originals = []
    try:
        for label, (owner, name) in targets.items():
            # A class's own attribute (a method it inherits is wrapped on it, and removed again on exit).
            original = vars(owner).get(name, _INHERITED) if isinstance(owner, type) else getattr(owner, name)
            originals.append((owner, name, original))
            setattr(owner, name, _timed(getattr(owner, name), label, spent))
        yield spent
    finally:
        for owner, name, original in reversed(originals):
            if original is _INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


@contextlib.contextmanager
def garbage_collections():
    """The cyclic garbage collector's runs and this thread's CPU inside them while the block runs (gc.callbacks)."""
    spent = {"collections": 0, "cpu": 0.0}
    started = []

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            started.append(time.thread_time())
        elif started:
            spent["collections"] += 1
            spent["cpu"] += time.thread_time() - started.pop()

    gc.callbacks.append(callback)
    try:
        yield spent
    finally:
        gc.callbacks.remove(callback)
