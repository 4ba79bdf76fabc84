"""Prometheus metrics for every process, and the one-line functions the code paths call.

Multi-process: gunicorn runs several web workers and Dramatiq several worker processes, so we use
prometheus_client's multiprocess mode. Each composition root calls `configure(role)`; every process
on a host writes its samples into ONE directory (`PROMETHEUS_MULTIPROC_DIR`, default `var/metrics`),
and `/metrics` (web, bridge) aggregates that directory. Web's `/metrics` therefore also shows what
the workers and the bridge on the same host counted (activations, YCLIENTS calls, syncs, messages);
scrape one endpoint per host (docs/operations.md). Without `configure` (unit tests) a private
in-process registry is used. Recording a metric never raises: metrics must not break the work.
"""
from __future__ import annotations

import glob
import logging
import os
import re
from typing import Iterable

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram,
                               disable_created_metrics, generate_latest)

logger = logging.getLogger("aiadmin.metrics")

ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
SYNC_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600)


class Metrics:
    """The named metrics. `multiprocess_dir` set: samples go to files there; else to `self.registry`."""

    def __init__(self, multiprocess_dir: str | None = None):
        self.multiprocess_dir = multiprocess_dir
        disable_created_metrics()  # `_created` series only add noise to every counter
        reg = None if multiprocess_dir else CollectorRegistry(auto_describe=True)
        self.registry = reg
        self.redirects = Counter("aiadmin_redirects", "Marketplace registration redirects by outcome",
                                 ["outcome"], registry=reg)
        self.activations = Counter("aiadmin_activations", "Activation callbacks by outcome", ["outcome"],
                                   registry=reg)
        self.activation_seconds = Histogram("aiadmin_activation_seconds",
                                            "WhatsApp connected to activation finished, seconds",
                                            registry=reg, buckets=LATENCY_BUCKETS)
        self.yclients_requests = Counter("aiadmin_yclients_requests", "YCLIENTS HTTP requests by status code",
                                         ["status"], registry=reg)
        self.yclients_rate_limited = Counter("aiadmin_yclients_rate_limited",
                                             "YCLIENTS answers 429 Too Many Requests", registry=reg)
        self.syncs = Counter("aiadmin_syncs", "Finished salon syncs by outcome", ["outcome"], registry=reg)
        self.sync_seconds = Histogram("aiadmin_sync_seconds", "Duration of a salon sync, seconds",
                                      registry=reg, buckets=SYNC_BUCKETS)
        self.sync_rows = Counter("aiadmin_sync_rows", "Rows upserted by syncs", registry=reg)
        self.webhooks = Counter("aiadmin_webhooks", "YCLIENTS webhook deliveries by kind and outcome",
                                ["kind", "outcome"], registry=reg)
        self.websockets_open = Gauge("aiadmin_websockets_open", "Open onboarding websockets", registry=reg,
                                     multiprocess_mode="livesum")
        self.messages_sent = Counter("aiadmin_messages_sent", "Outbound WhatsApp messages by outcome",
                                     ["outcome"], registry=reg)
        self.jobs_failed = Counter("aiadmin_jobs_failed", "Jobs that failed for good (recorded failures)",
                                   ["actor"], registry=reg)

    def scrape_registry(self, extra: Iterable = ()) -> CollectorRegistry:
        if self.multiprocess_dir:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=self.multiprocess_dir)
        else:
            registry = CollectorRegistry()
            registry.register(_Forward(self.registry))
        for collector in extra:
            registry.register(collector)
        return registry

    def render(self, extra: Iterable = ()) -> tuple[bytes, str]:
        return generate_latest(self.scrape_registry(extra)), CONTENT_TYPE_LATEST


class _Forward:
    """Expose another registry's samples inside a scrape registry (single-process mode)."""

    def __init__(self, registry):
        self._registry = registry

    def collect(self):
        return self._registry.collect()


_current: Metrics | None = None


def configure(role: str, environ=None, default_dir: str | None = None) -> Metrics:
    """Called once by each composition root (web, bridge, worker): switch on multiprocess mode."""
    global _current
    environ = os.environ if environ is None else environ
    if not environ.get(ENV):
        from settings import VAR_DIR

        environ[ENV] = default_dir or str(VAR_DIR / "metrics")
    path = environ[ENV]
    os.makedirs(path, exist_ok=True)
    if _current is not None and _current.multiprocess_dir == path:
        return _current
    from prometheus_client import values

    # prometheus_client picks its value class when first imported; a root that set the variable
    # after that import must switch it here, before any metric exists.
    if not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.MultiProcessValue()
    forget_dead_processes(path)
    _current = Metrics(path)
    logger.info("metrics: %s writes multiprocess samples to %s", role, path)
    return _current


def forget_dead_processes(path: str) -> None:
    """Drop live-gauge files of processes that are gone (a crashed gunicorn worker's open sockets)."""
    from prometheus_client import multiprocess

    for name in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        match = re.search(r"_(\d+)\.db$", name)
        if match and not _alive(int(match.group(1))):
            try:
                multiprocess.mark_process_dead(int(match.group(1)), path)
            except FileNotFoundError:
                pass  # a process starting beside us removed the same dead files first (boot race)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def current() -> Metrics:
    global _current
    if _current is None:
        _current = Metrics(None)
    return _current


def reset_for_tests() -> Metrics:
    """A fresh in-process registry (unit tests only)."""
    global _current
    _current = Metrics(None)
    return _current


def _safe(fn):
    def wrapper(*args, **kwargs):
        try:
            fn(*args, **kwargs)
        except Exception:  # a metric must never break a redirect, an activation or a sync
            logger.debug("metric %s failed", fn.__name__, exc_info=True)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@_safe
def redirect(outcome: str) -> None:
    """A registration redirect ended: `ok`, `reinstall`, `bad_signature`, `bad_request`, `error`…"""
    current().redirects.labels(outcome=str(outcome)).inc()


@_safe
def activation(outcome: str, seconds: float | None = None) -> None:
    """An activation callback ended (`done`, `already_installed`, `failed`, `retry`); `seconds` since connect."""
    m = current()
    m.activations.labels(outcome=str(outcome)).inc()
    if seconds is not None:
        m.activation_seconds.observe(max(0.0, float(seconds)))


@_safe
def yclients_request(status) -> None:
    """One HTTP request to YCLIENTS answered with `status` (an int, or e.g. `error` for no answer)."""
    m = current()
    label = str(int(status)) if isinstance(status, int) or str(status).isdigit() else str(status)
    m.yclients_requests.labels(status=label).inc()
    if label == "429":
        m.yclients_rate_limited.inc()


@_safe
def sync_finished(seconds: float, rows: int, outcome: str = "done") -> None:
    m = current()
    m.syncs.labels(outcome=str(outcome)).inc()
    m.sync_seconds.observe(max(0.0, float(seconds)))
    if rows:
        m.sync_rows.inc(max(0, int(rows)))


@_safe
def webhook(kind: str, outcome: str) -> None:
    """A YCLIENTS webhook delivery: kind `lifecycle`/`record`/`client`…, outcome `accepted`/`rejected`/`duplicate`."""
    current().webhooks.labels(kind=str(kind), outcome=str(outcome)).inc()


@_safe
def websockets(delta: int) -> None:
    """+1 when an onboarding websocket opens, -1 when it closes (call the -1 in `finally`)."""
    current().websockets_open.inc(delta)


@_safe
def message_sent(outcome: str) -> None:
    """An outbound WhatsApp message reached a final outcome: `sent`, `failed`, `unknown`."""
    current().messages_sent.labels(outcome=str(outcome)).inc()


@_safe
def job_failed(actor: str) -> None:
    current().jobs_failed.labels(actor=str(actor)).inc()


@_safe
def activation_finished(salon_id: int, outcome: str) -> None:
    """`activation` with the latency measured from the salon's WhatsApp connection (one line for callers)."""
    from models.db import utcnow
    from models.salon import Salon

    salon = Salon.get_or_none(Salon.salon_id == int(salon_id))
    since = salon.whatsapp_connected_at if salon is not None else None
    activation(outcome, (utcnow() - since).total_seconds() if since is not None else None)


@_safe
def sync_run_finished(run_id: int, outcome: str) -> None:
    """`sync_finished` from a SyncRun row: its duration and the rows it holds (one line for callers)."""
    from models.db import utcnow
    from models.sync_run import SyncRun

    run = SyncRun.get_or_none(SyncRun.id == int(run_id))
    if run is None:
        return
    rows = sum(int(v) for v in (run.counts or {}).values() if isinstance(v, (int, float)))
    sync_finished(((run.finished_at or utcnow()) - run.started_at).total_seconds(), rows, outcome)
