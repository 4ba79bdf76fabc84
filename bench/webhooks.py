"""Benchmark 5: YCLIENTS data webhook intake, stored before the acknowledgement, on ONE web process.

One gunicorn web process as the Procfile runs it (gevent worker class, one worker: "one web process"),
on SQLite and on PostgreSQL. The deliveries' processing worker does NOT run meanwhile by default (its
jobs wait in Redis): it is another process type, and on a 2-core box it would take the CPU the intake is
measured on; `--with-worker` runs it (docs/performance/webhook-intake.md gives both). An open-loop generator
(bench/loadgen.py) posts unique record webhooks at a fixed rate (500/s by default) and times each
acknowledgement from its scheduled start; right after the last acknowledgement the database must hold
every acknowledged delivery. Then wrk finds the closed-loop capacity, checked the same way (every 2xx
it counted is stored when it stops).
"""
from __future__ import annotations

import argparse
import itertools
import json
import time

from models import salon as S
from models.db import init_database
from bench import loadgen, wrk
from bench.stack import stack
from bench.stats import summary

SALONS = 50  # deliveries spread over salons, as in production
FIRST_SALON = 960000
CONNECTIONS = 64  # wrk's concurrent connections for the closed loop


def salon_of(n: int) -> int:
    return FIRST_SALON + n % SALONS


def key_of(salon_id: int) -> str:
    return f"bench{salon_id}" + "k" * 30


def path_of(n: int) -> str:
    return f"/webhook/yclients/{key_of(salon_of(n))}"


def body(n: int) -> bytes:
    return json.dumps({"resource": "record", "status": "update", "company_id": salon_of(n), "resource_id": n,
                       "data": {"id": n, "datetime": "2026-12-01T12:00:00+03:00", "staff_id": 3,
                                "client": {"id": n * 10}, "comment": f"v{n}",
                                "last_change_date": "2026-11-01T09:00:00+0000"}}).encode()


def stored(db) -> int:
    from models.webhook_delivery import WebhookDelivery

    with db.connection_context():
        return WebhookDelivery.select().count()


def cpu_seconds(master_pid: int) -> float:
    """user + system CPU time of the gunicorn master's workers (the web process's own cost, whatever the load)."""
    import psutil

    total = 0.0
    for child in psutil.Process(master_pid).children():
        times = child.cpu_times()
        total += times.user + times.system
    return total


def load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def bench(rate: int = 500, seconds: float = 10, wrk_seconds: int = 10, database_url: str | None = None,
          web_workers: int = 1, worker_class: str = "gevent", with_worker: bool = False,
          connections: int = CONNECTIONS) -> dict:
    from models.salon import Salon

    with stack(database_url=database_url) as s:
        db = init_database(s.settings.database_url)
        with db.connection_context():
            for salon_id in range(FIRST_SALON, FIRST_SALON + SALONS):
                Salon.create(salon_id=salon_id, state=S.ACTIVE, webhook_key=key_of(salon_id))
        extra = () if worker_class == "gthread" else ("--worker-connections", "3000")
        web = s.start_web(worker_class=worker_class, workers=web_workers, extra=extra)
        if with_worker:
            s.start_worker(threads=8, queues=("webhooks",))
        base = s.url("web")
        host = base.split("//", 1)[1]
        counter = itertools.count(1)

        def requests_():
            while True:
                n = next(counter)
                yield loadgen.post_json(path_of(n), host, body(n))

        warm = loadgen.open_loop(base, requests_(), rate=50, seconds=1)
        load_open = load()
        before = stored(db)
        result = loadgen.open_loop(base, requests_(), rate=rate, seconds=seconds)
        acked = result["statuses"].get(200, 0)
        in_db = stored(db) - before  # read right after the last acknowledgement: stored before ack
        first = next(counter) + 1_000_000
        numbers = range(first, first + 200_000)
        load_closed = load()
        paths, bodies = [path_of(n) for n in numbers], [body(n).decode() for n in numbers]
        before = stored(db)
        cpu_before = cpu_seconds(web.process.pid)
        closed = wrk.run(base, paths, bodies=bodies, seconds=wrk_seconds, connections=connections)
        cpu = cpu_seconds(web.process.pid) - cpu_before
        closed_in_db = stored(db) - before
        time.sleep(0.5)
    closed_acked = (closed.get("requests") or 0) - closed["errors"]
    return {"database": "postgresql" if database_url else "sqlite", "class": worker_class, "web_workers": web_workers,
            "with_worker": with_worker, "rate": rate, "sent": result["sent"], "acked": acked,
            "stored_at_last_ack": in_db, "achieved_rps": result["achieved_rps"], "statuses": result["statuses"],
            "errors": result["errors"], "latency_ms": summary(result["latencies"]), "warm_errors": warm["errors"],
            "load_open": load_open, "load_closed": load_closed,
            "max_rps": closed["rps"], "max_p50_ms": closed.get("p50_ms"), "max_p99_ms": closed.get("p99_ms"),
            "max_non2xx": closed["errors"], "max_acked": closed_acked, "max_stored": closed_in_db,
            "cpu_ms_per_delivery": 1000 * cpu / closed_in_db if closed_in_db else None}


def one(db: str, **kw) -> dict:
    if db != "postgresql":
        return bench(**kw)
    from bench.sync import drop_pg, pg_database

    url = pg_database()
    try:
        return bench(database_url=url, **kw)
    finally:
        drop_pg(url)


def run(rate: int = 500, seconds: float = 10, repeats: int = 3, wrk_seconds: int = 10, classes=("gevent",),
        dbs=("sqlite", "postgresql"), with_worker: bool = False) -> list[dict]:
    """Each database (and worker class) `repeats` times, alternately (side by side in one run)."""
    results = {(d, c): [] for d in dbs for c in classes}
    for _ in range(repeats):
        for d, c in results:
            results[(d, c)].append(one(d, rate=rate, seconds=seconds, wrk_seconds=wrk_seconds, worker_class=c,
                                       with_worker=with_worker))
    rows = []
    worker = ", worker processing meanwhile" if with_worker else ""
    for (d, c), runs in results.items():
        label = f"{d}, one {c} web process{worker}"
        p99s = sorted(r["latency_ms"]["p99"] for r in runs)
        median = sorted(runs, key=lambda r: r["latency_ms"]["p99"])[len(runs) // 2]
        stored_ok = all(r["acked"] == r["sent"] and r["stored_at_last_ack"] >= r["acked"] for r in runs)
        rows.append({"benchmark": f"5. webhook intake ({label}) at {rate}/s open loop: ack latency (median run)",
                     "p50": median["latency_ms"]["p50"], "p95": median["latency_ms"]["p95"],
                     "p99": median["latency_ms"]["p99"], "unit": "ms", "target": "p99 < 50 ms, all stored before ack",
                     "ok": stored_ok and median["latency_ms"]["p99"] < 50,
                     "value": f"p99 per run: {', '.join(f'{p:.0f}' for p in p99s)} ms; {median['acked']}/{median['sent']}"
                              f" acked, {median['stored_at_last_ack']} stored at the last ack; load {median['load_open']}"})
        by_rps = sorted(runs, key=lambda r: r["max_rps"])
        mid = by_rps[len(by_rps) // 2]
        maxes = [r["max_rps"] for r in by_rps]
        closed_ok = all(r["max_stored"] >= r["max_acked"] for r in runs)
        rows.append({"benchmark": f"5. webhook intake ({label}), closed-loop capacity (wrk -c{CONNECTIONS})",
                     "value": f"{mid['max_rps']:,.0f} deliveries/s (runs: {', '.join(f'{m:.0f}' for m in maxes)}),"
                              f" p99 {mid['max_p99_ms']} ms, non-2xx {mid['max_non2xx']}; {mid['max_acked']} acked,"
                              f" {mid['max_stored']} stored when wrk stopped; web CPU {mid['cpu_ms_per_delivery'] or 0:.2f} ms/delivery;"
                              f" load {mid['load_closed']}",
                     "target": ">= 1,000/s, all stored before ack", "ok": closed_ok and mid["max_rps"] >= 1000,
                     "detail": runs})
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--class", dest="worker_class", default="gevent")
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--with-worker", action="store_true")
    args = parser.parse_args()
    print(json.dumps(one(args.db, rate=args.rate, seconds=args.seconds, wrk_seconds=args.wrk_seconds,
                         web_workers=args.workers, worker_class=args.worker_class, with_worker=args.with_worker),
                     indent=1))
