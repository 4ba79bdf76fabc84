"""Benchmarks 1 and 2: onboarding latency seen on the page's websocket, and 200 salons linking at once.

Each onboarding is what a salon owner's browser and phone do, over the real processes: the signed
marketplace redirect (web), the one-time link exchanged for the session cookie, the status websocket
with that cookie, wait for the QR (worker -> WAHA simulator -> bridge), then the simulated scan
(`POST /_sim/salon_<id>/scan`). The clock starts just before the scan; the page's `activation done`
and `welcome sent` events are timestamped on arrival at the client.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import json
import time
from concurrent.futures import ThreadPoolExecutor

import requests
import websockets

from tests.bench.fleet_sandbox import fleet_ids
from tests.bench.stack import stack
from tests.bench.stats import summary


def open_session(base: str, yclients: str, salon_id: int, user_id: int) -> str:
    """«Подключить» in the YCLIENTS sandbox, the marketplace redirect (with its install check) and the one-time
    link exchange, as the browser follows them; the cookie."""
    from tests.onboarding_support import open_redirect, press_connect

    url = press_connect(yclients, (salon_id,), user_id=user_id)
    http = requests.Session()
    http.headers["X-Forwarded-For"] = client_ip(salon_id)  # each owner from their own address
    answer = open_redirect(http, url, timeout=60, request_timeout=30, allow_redirects=False)
    if answer.status_code != 302:
        raise RuntimeError(f"redirect answered {answer.status_code}: {answer.text[:200]}")
    page = http.get(base + answer.headers["Location"], allow_redirects=False, timeout=30)
    if page.status_code != 302 or "aiadmin_onboarding" not in http.cookies:
        raise RuntimeError(f"link exchange answered {page.status_code}")
    return http.cookies["aiadmin_onboarding"]


def client_ip(salon_id: int) -> str:
    return f"10.{salon_id >> 16 & 255}.{salon_id >> 8 & 255}.{salon_id & 255}"


def scan(sim: str, salon_id: int) -> None:
    phone = f"7901{salon_id % 10_000_000:07d}"
    requests.post(f"{sim}/_sim/salon_{salon_id}/scan", json={"phone": phone}, timeout=30).raise_for_status()


async def onboard(salon_id: int, s, pool, timeout: float) -> dict:
    loop = asyncio.get_running_loop()
    base, sim = s.url("web"), s.url("whatsapp")
    result = {"salon_id": salon_id, "events": collections.Counter(), "errors": []}
    cookie = await loop.run_in_executor(pool, open_session, base, s.url("yclients"), salon_id, 1_000_000 + salon_id)
    headers = {"Cookie": f"aiadmin_onboarding={cookie}", "Origin": base,
               # one address per simulated browser: the per-IP socket limits are about real clients
               "X-Forwarded-For": client_ip(salon_id)}
    deadline = time.monotonic() + timeout
    async with websockets.connect(base.replace("http", "ws") + "/marketplace/ws", additional_headers=headers,
                                  open_timeout=30, ping_interval=None) as ws:
        scanned_at = None
        while time.monotonic() < deadline:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=max(0.1, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                break
            now = time.time()
            event = json.loads(raw)
            kind, data = event["type"], event.get("data") or {}
            result["events"][kind] = result["events"][kind] + 1
            if kind == "error":
                result["errors"].append(data.get("code"))
            has_qr = (kind == "qr") or (kind == "snapshot" and data.get("qr"))
            if has_qr and scanned_at is None:
                scanned_at = time.time()
                await loop.run_in_executor(pool, scan, sim, salon_id)
            if scanned_at is None:
                continue
            result.setdefault("trace", []).append((kind, data.get("status"), round(now - scanned_at, 3)))
            if kind == "activation" and data.get("status") == "done":
                result["activation"] = now - scanned_at
            if kind == "activation" and data.get("status") == "failed":
                result["errors"].append("activation failed")
            if kind == "welcome":
                result["welcome"] = now - scanned_at
                if data.get("status") != "sent":
                    result["errors"].append(f"welcome {data.get('status')}")
            if kind == "complete":
                result["complete"] = now - scanned_at
            if "welcome" in result and "complete" in result:
                break
    if "complete" not in result:
        result["errors"].append("timed out")
    return result


def check_exactly_once(s, salon_ids) -> dict:
    """Callbacks at the YCLIENTS sandbox and messages at the simulator: exactly one per salon; no failures."""
    from models.db import init_database
    from models.failure import Failure
    from models.salon import Salon

    callbacks = collections.Counter(c.get("salon_id") for c in
                                    requests.get(s.url("yclients") + "/_sandbox/installs", timeout=30).json()["callbacks"])
    messages = collections.Counter(m["session"] for m in requests.get(s.url("whatsapp") + "/_sim/messages",
                                                                        timeout=30).json())
    db = init_database(s.settings.database_url)
    with db.connection_context():
        failures = Failure.select().count()
        active = Salon.select().where(Salon.salon_id.in_(salon_ids), Salon.state == "active").count()
    return {"callbacks_not_one": sum(1 for i in salon_ids if callbacks[i] != 1),
            "messages_not_one": sum(1 for i in salon_ids if messages[f"salon_{i}"] != 1),
            "failures": failures, "active": active}


async def run_onboardings(s, salon_ids, interval: float, timeout: float) -> list[dict]:
    with ThreadPoolExecutor(max_workers=64) as pool:
        tasks = []
        for salon_id in salon_ids:
            tasks.append(asyncio.create_task(onboard(salon_id, s, pool, timeout)))
            if interval:
                await asyncio.sleep(interval)
        return await asyncio.gather(*tasks, return_exceptions=True)


WEB = {"worker_class": "gevent", "workers": 2, "threads": 1, "connections": 3000}  # the Procfile's web line
# The Procfile's one worker line consumes every queue with 8 threads; "split" gives the sync queue its own
# worker process, so syncs waiting for YCLIENTS budget never hold the threads activations and welcomes need.
LAYOUTS = {"procfile": [((), 8)],
           "split": [(("interactive", "whatsapp", "onboarding", "outbound", "webhooks", "lifecycle", "diagnostics"),
                      8),
                     (("sync",), 8)]}


def bench(n: int, interval: float, rate_limit: str, timeout: float, worker_threads: int = 8,
          database_url: str | None = None, web: dict | None = None, layout: str = "procfile") -> dict:
    salon_ids = fleet_ids(n)
    with stack(database_url=database_url, rate_limit=rate_limit) as s:
        s.start_sandboxes(fleet=n)
        s.start_bridge()
        web = {**WEB, **(web or {})}
        extra = () if web["worker_class"] == "gthread" else ("--worker-connections", str(web.get("connections", 3000)))
        s.start_web(worker_class=web["worker_class"], workers=web["workers"], threads=web["threads"], extra=extra)
        for i, (queues, threads) in enumerate(LAYOUTS[layout]):
            s.start_worker(f"worker-{i}", threads=threads, queues=queues)
        started = time.monotonic()
        results = asyncio.run(run_onboardings(s, salon_ids, interval, timeout))
        wall = time.monotonic() - started
        crashed = [r for r in results if isinstance(r, BaseException)]
        done = [r for r in results if isinstance(r, dict)]
        time.sleep(1)  # let any duplicate that was going to happen arrive
        checks = check_exactly_once(s, salon_ids)
    errors = [e for r in done for e in r["errors"]] + [repr(e)[:300] for e in crashed]
    if n <= 5:
        for r in done:
            print(r.get("trace"))
    return {"n": n, "web": web, "layout": layout, "wall_s": wall, "completed": sum(1 for r in done if "complete" in r),
            "activation": summary([r["activation"] for r in done if "activation" in r]),
            "welcome": summary([r["welcome"] for r in done if "welcome" in r]),
            "complete": summary([r["complete"] for r in done if "complete" in r]),
            "duplicate_events": sum(1 for r in done if r["events"]["welcome"] > 1 or r["events"]["complete"] > 1),
            "errors": errors[:10], "error_count": len(errors), **checks}


def run(n_latency: int = 50, n_burst: int = 200, interval: float = 2.2, layouts=("procfile", "split"),
        burst_timeout: float = 300) -> list[dict]:
    rows = []
    for layout in layouts:
        lat = bench(n_latency, interval, "5/s,200/min", timeout=60, layout=layout)
        rows.append({"benchmark": f"1. onboarding ({layout} workers): scan -> activation done, {n_latency} salons "
                                  f"1 per {interval}s", "p50": lat["activation"].get("p50"),
                     "p95": lat["activation"].get("p95"), "p99": lat["activation"].get("p99"), "unit": "ms",
                     "target": "p95 < 1000 ms", "value": f"{lat['completed']}/{n_latency} complete, "
                                                        f"{lat['error_count']} errors",
                     "ok": lat["activation"].get("p95", 1e9) < 1000 and lat["error_count"] == 0, "detail": lat})
        rows.append({"benchmark": f"1. onboarding ({layout} workers): scan -> welcome sent",
                     "p50": lat["welcome"].get("p50"), "p95": lat["welcome"].get("p95"),
                     "p99": lat["welcome"].get("p99"), "unit": "ms", "target": "p95 < 5000 ms",
                     "ok": lat["welcome"].get("p95", 1e9) < 5000})
    for layout in layouts:
        burst = bench(n_burst, 0, "5/s,200/min", timeout=burst_timeout, layout=layout)
        clean = (burst["completed"] == n_burst and burst["error_count"] == 0 and burst["callbacks_not_one"] == 0
                 and burst["messages_not_one"] == 0 and burst["failures"] == 0 and burst["duplicate_events"] == 0)
        rows.append({"benchmark": f"2. {n_burst} salons linking at once ({layout} workers): scan -> complete",
                     "p50": burst["complete"].get("p50"), "p95": burst["complete"].get("p95"),
                     "p99": burst["complete"].get("max"), "unit": "ms (p99 col = max)",
                     "target": "all complete, 0 errors, 0 duplicates", "ok": clean,
                     "value": f"{burst['completed']}/{n_burst} in {burst['wall_s']:.1f}s; activation p50 "
                              f"{burst['activation'].get('p50', 0) / 1000:.1f}s p95 "
                              f"{burst['activation'].get('p95', 0) / 1000:.1f}s; callbacks!=1: "
                              f"{burst['callbacks_not_one']}, messages!=1: {burst['messages_not_one']}, "
                              f"failures: {burst['failures']}, errors: {burst['error_count']}", "detail": burst})
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=50)
    parser.add_argument("--interval", type=float, default=2.2)
    parser.add_argument("--rate-limit", default="5/s,200/min")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--web", default="gevent:2:1", help="worker class:workers:threads")
    parser.add_argument("--layout", default="procfile", choices=sorted(LAYOUTS))
    args = parser.parse_args()
    cls, workers, threads = args.web.split(":")
    print(json.dumps(bench(args.n, args.interval, args.rate_limit, timeout=300, worker_threads=args.threads,
                           web={"worker_class": cls, "workers": int(workers), "threads": int(threads)},
                           layout=args.layout), indent=1, default=str))
