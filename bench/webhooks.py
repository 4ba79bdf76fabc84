"""Benchmark 5: YCLIENTS data webhook intake, stored before the acknowledgement.

The web tier as the Procfile runs it (gunicorn, 2 workers) with a Dramatiq worker processing the
deliveries at the same time. An open-loop generator (bench/loadgen.py) posts unique record
webhooks at a fixed rate (500/s by default) and times each acknowledgement from its scheduled start;
then wrk finds the closed-loop maximum. Afterwards every acknowledged delivery must be in the database.
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

SALONS = 50  # spread over salons: one salon alone is capped at 3,000 deliveries/min (web/webhooks.py)
FIRST_SALON = 960000


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


def bench(rate: int = 500, seconds: float = 10, wrk_seconds: int = 10, database_url: str | None = None,
          web_workers: int = 2, threads: int = 64, worker_class: str = "gthread") -> dict:
    from models.salon import Salon

    with stack(database_url=database_url) as s:
        db = init_database(s.settings.database_url)
        with db.connection_context():
            for salon_id in range(FIRST_SALON, FIRST_SALON + SALONS):
                Salon.create(salon_id=salon_id, state=S.ACTIVE, webhook_key=key_of(salon_id))
        extra = () if worker_class == "gthread" else ("--worker-connections", "1000")
        s.start_web(worker_class=worker_class, workers=web_workers, threads=threads, extra=extra)
        s.start_worker(threads=8, queues=("webhooks",))
        base = s.url("web")
        host = base.split("//", 1)[1]
        counter = itertools.count(1)

        def requests_():
            while True:
                n = next(counter)
                yield loadgen.post_json(path_of(n), host, body(n))

        warm = loadgen.open_loop(base, requests_(), rate=50, seconds=1)
        before = stored(db)
        result = loadgen.open_loop(base, requests_(), rate=rate, seconds=seconds)
        acked = result["statuses"].get(200, 0)
        in_db = stored(db) - before  # read right after the last acknowledgement: stored before ack
        first = next(counter) + 1_000_000
        numbers = range(first, first + 100_000)
        closed = wrk.run(base, [path_of(n) for n in numbers], bodies=[body(n).decode() for n in numbers],
                         seconds=wrk_seconds, connections=32)
        time.sleep(0.5)
    return {"class": worker_class, "rate": rate, "sent": result["sent"], "acked": acked, "stored_at_last_ack": in_db,
            "achieved_rps": result["achieved_rps"], "statuses": result["statuses"], "errors": result["errors"],
            "latency_ms": summary(result["latencies"]), "warm_errors": warm["errors"],
            "max_rps": closed["rps"], "max_p50_ms": closed.get("p50_ms"), "max_p99_ms": closed.get("p99_ms"),
            "max_non2xx": closed["errors"]}


def run(rate: int = 500, seconds: float = 10, repeats: int = 3, wrk_seconds: int = 10,
        classes=("gthread", "gevent")) -> list[dict]:
    """Each worker class `repeats` times, alternately (side by side in one run)."""
    results = {c: [] for c in classes}
    for _ in range(repeats):
        for c in classes:
            results[c].append(bench(rate, seconds, wrk_seconds=wrk_seconds, worker_class=c))
    rows = []
    for c, runs in results.items():
        p99s = sorted(r["latency_ms"]["p99"] for r in runs)
        median = sorted(runs, key=lambda r: r["latency_ms"]["p99"])[len(runs) // 2]
        stored_ok = all(r["acked"] == r["sent"] and r["stored_at_last_ack"] >= r["acked"] for r in runs)
        rows.append({"benchmark": f"5. webhook intake ({c}) at {rate}/s open loop: ack latency (median run)",
                     "p50": median["latency_ms"]["p50"], "p95": median["latency_ms"]["p95"],
                     "p99": median["latency_ms"]["p99"], "unit": "ms", "target": "p99 < 50 ms, all stored before ack",
                     "ok": stored_ok and median["latency_ms"]["p99"] < 50,
                     "value": f"p99 per run: {', '.join(f'{p:.0f}' for p in p99s)} ms; {median['acked']}/{median['sent']}"
                              f" acked, {median['stored_at_last_ack']} stored at the last ack"})
        maxes = sorted(r["max_rps"] for r in runs)
        rows.append({"benchmark": f"5. webhook intake ({c}), closed-loop maximum (wrk -c32)",
                     "value": f"{maxes[len(maxes) // 2]:,.0f} deliveries/s (runs: {', '.join(f'{m:.0f}' for m in maxes)}),"
                              f" p99 {median['max_p99_ms']} ms", "target": "report", "ok": None, "detail": runs})
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--class", dest="worker_class", default="gthread")
    args = parser.parse_args()
    print(json.dumps(bench(args.rate, args.seconds, web_workers=args.workers, threads=args.threads,
                           worker_class=args.worker_class), indent=1))
