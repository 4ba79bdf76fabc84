"""Benchmark 4: one web process holding N status websockets, publish -> client latency, memory per socket.

The orchestrator starts the real web tier (gunicorn, one worker process, gthread or gevent), then a client
process (asyncio `websockets`: N sockets, one salon each, authenticated with a session cookie minted with
the JWT secret, each from its own X-Forwarded-For address as N browsers would be), which starts a
publisher process (`LiveStatus.publish` at R events/s to random salons, the path workers and the bridge
use). Latency = arrival at the client - the envelope's `ts` (set by the publisher just before PUBLISH).
gthread and gevent are measured alternately in one run, each step on a fresh server.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

SALON_BASE = 700_000


def worker_pid(master_pid: int) -> int:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return int(children[0])


def proc_status(pid: int) -> dict:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {"rss_mb": int(fields["VmRSS"].split()[0]) / 1024, "threads": int(fields["Threads"])}


# -- the client process --------------------------------------------------------------------------------

async def client_main(args) -> None:
    import websockets

    from web.marketplace import tokens

    latencies: list[float] = []
    errors: list[str] = []
    ws_url = args.base.replace("http", "ws") + "/marketplace/ws"
    sem = asyncio.Semaphore(200)
    stop = asyncio.Event()
    opened = 0

    async def one(i: int):
        nonlocal opened
        salon_id = SALON_BASE + i
        token = tokens.issue(args.secret, tokens.SESSION, [salon_id], None)
        headers = {"Cookie": f"aiadmin_onboarding={token}", "Origin": args.base,
                   "X-Forwarded-For": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"}
        try:
            async with sem:
                ws = await websockets.connect(ws_url, additional_headers=headers, open_timeout=120,
                                              ping_interval=None, max_queue=None, compression=os.environ.get("BENCH_WS_COMPRESSION", "deflate") or None)
                json.loads(await ws.recv())  # the snapshot
            opened += 1
        except Exception as exc:
            errors.append(f"connect: {type(exc).__name__}: {exc}"[:200])
            return
        try:
            while not stop.is_set():
                raw = await ws.recv()
                now = time.time()
                event = json.loads(raw)
                if event.get("type") == "sync" and (event.get("data") or {}).get("entity") == "bench":
                    latencies.append(now - event["ts"])
        except Exception as exc:
            if not stop.is_set():
                errors.append(f"recv: {type(exc).__name__}"[:200])
        finally:
            await ws.close()

    started = time.monotonic()
    tasks = [asyncio.create_task(one(i)) for i in range(args.n)]
    while opened + len(errors) < args.n and time.monotonic() - started < 300:
        await asyncio.sleep(0.2)
    connect_s = time.monotonic() - started
    Path(args.ready).write_text(json.dumps({"opened": opened}))
    await asyncio.sleep(args.settle)  # the orchestrator samples memory now
    publisher = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.ws_fanout", "publish", "--redis", args.redis, "--n", str(args.n),
        "--rate", str(args.rate), "--seconds", str(args.seconds), stdout=asyncio.subprocess.PIPE)
    out, _ = await publisher.communicate()
    await asyncio.sleep(1.0)  # the last deliveries
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    published = json.loads(out)["published"]
    print(json.dumps({"opened": opened, "connect_s": connect_s, "published": published,
                      "received": len(latencies), "latencies": latencies, "errors": errors[:20],
                      "error_count": len(errors)}))


def publish_main(args) -> None:
    import redis

    from models.live import LiveStatus

    live = LiveStatus(redis.Redis.from_url(args.redis))
    interval = 1.0 / args.rate
    published = 0
    start = time.monotonic()
    next_at = start
    while time.monotonic() - start < args.seconds:
        live.publish(SALON_BASE + random.randrange(args.n), "sync",
                     {"status": "running", "entity": "bench", "done": published, "total": 0})
        published += 1
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print(json.dumps({"published": published}))


# -- the orchestrator ----------------------------------------------------------------------------------

def one_step(s, worker_class: str, n: int, rate: int, seconds: float) -> dict:
    from bench.stats import summary
    from tests.support import BIN

    name = f"web-{worker_class}-{n}"
    if worker_class == "gthread":
        service = s.start_web(name, worker_class="gthread", threads=n + 100)
    else:
        service = s.start_web(name, worker_class=worker_class, extra=("--worker-connections", str(n + 100)))
    base = s.url(name)
    wpid = worker_pid(service.process.pid)
    before = proc_status(wpid)
    ready = s.root / f"{name}.ready"
    client = subprocess.Popen([str(BIN / "python"), "-m", "bench.ws_fanout", "client", "--base", base,
                               "--secret", s.settings.jwt_secret, "--redis", s.settings.redis_url, "--n", str(n),
                               "--rate", str(rate), "--seconds", str(seconds), "--ready", str(ready)],
                              stdout=subprocess.PIPE, cwd=str(Path(__file__).resolve().parents[2]))
    deadline = time.monotonic() + 400
    while not ready.exists() and client.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    held = proc_status(wpid)
    spy = None
    if os.environ.get("BENCH_PYSPY"):  # sample the web worker while the publisher runs
        spy = subprocess.Popen([str(BIN / "py-spy"), "record", "--format", "raw", "-r", "100", "-d",
                                str(int(seconds)), "-o", f"{os.environ['BENCH_PYSPY']}-{name}.txt", "-p", str(wpid)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out, _ = client.communicate(timeout=seconds + 400)
    during = proc_status(wpid)
    if spy is not None:
        spy.wait(60)
    s.kill(name)
    result = json.loads(out)
    lat = summary(result.pop("latencies"))
    opened = max(1, result["opened"])
    return {"class": worker_class, "n": n, "rate": rate, **result, "latency_ms": lat,
            "rss_before_mb": before["rss_mb"], "rss_held_mb": held["rss_mb"], "threads_held": held["threads"],
            "kb_per_socket": (held["rss_mb"] - before["rss_mb"]) * 1024 / opened, "rss_end_mb": during["rss_mb"]}


def sweep(classes=("gthread", "gevent"), sizes=(1000, 2000, 3000, 4000), rate: int = 1000, seconds: float = 10,
          stop_above_ms: float = 100) -> list[dict]:
    """Alternate the worker classes at each size; a class stops growing once its p99 exceeds stop_above_ms."""
    from bench.stack import stack

    results = []
    alive = set(classes)
    with stack() as s:
        for n in sizes:
            for worker_class in classes:
                if worker_class not in alive:
                    continue
                try:
                    step = one_step(s, worker_class, n, rate, seconds)
                except Exception as exc:  # e.g. the worker was killed by gunicorn's arbiter: a result too
                    step = {"class": worker_class, "n": n, "rate": rate, "opened": 0, "connect_s": 0, "published": 0,
                            "received": 0, "errors": [f"{type(exc).__name__}: {exc}"[:300]], "error_count": 1,
                            "latency_ms": {}, "rss_before_mb": 0, "rss_held_mb": 0, "threads_held": 0,
                            "kb_per_socket": 0, "rss_end_mb": 0, "failed": True}
                    name = f"web-{worker_class}-{n}"
                    if name in s.services:
                        s.services[name].kill()
                results.append(step)
                print(json.dumps(step), file=sys.stderr, flush=True)
                if step["latency_ms"].get("p99", 1e9) > stop_above_ms or step["opened"] < n:
                    alive.discard(worker_class)
    return results


def ceiling(results, worker_class: str, limit_ms: float = 50) -> int:
    ok = [r["n"] for r in results if r["class"] == worker_class and r["opened"] == r["n"]
          and r["error_count"] == 0 and r["latency_ms"].get("p99", 1e9) < limit_ms]
    return max(ok, default=0)


def run(sizes=(1000, 2000, 3000, 4000), rate: int = 1000, seconds: float = 10, stop_above_ms: float = 300) -> list[dict]:
    results = sweep(sizes=sizes, rate=rate, seconds=seconds, stop_above_ms=stop_above_ms)
    rows = []
    for worker_class in ("gthread", "gevent"):
        first = next((r for r in results if r["class"] == worker_class and r["n"] == sizes[0]), None)
        if first is None:
            continue
        top = ceiling(results, worker_class)
        rows.append({"benchmark": f"4. websockets, {worker_class}, {sizes[0]} sockets, {rate} events/s",
                     "p50": first["latency_ms"].get("p50"), "p95": first["latency_ms"].get("p95"),
                     "p99": first["latency_ms"].get("p99"), "unit": "ms", "target": "p99 < 25 ms",
                     "ok": first["latency_ms"].get("p99", 1e9) < 25,
                     "value": f"{first['kb_per_socket']:.0f} KiB/socket, {first['threads_held']} threads, "
                              f"{first['received']}/{first['published']} delivered"})
        rows.append({"benchmark": f"4. websockets, {worker_class}: ceiling at p99 < 50 ms", "value":
                     f"{top} sockets (tried {', '.join(str(r['n']) + ':' + ('failed' if r.get('failed') else format(r['latency_ms'].get('p99', 0), '.0f') + 'ms') for r in results if r['class'] == worker_class)})",
                     "target": ">= 3,000", "ok": top >= 3000})
    rows[-1]["detail"] = results
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ws_fanout")
    parser.add_argument("command", choices=["client", "publish", "sweep"])
    parser.add_argument("--base")
    parser.add_argument("--secret")
    parser.add_argument("--redis")
    parser.add_argument("--ready")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--settle", type=float, default=2.0)
    parser.add_argument("--sizes", default="1000,2000,3000,4000")
    parser.add_argument("--classes", default="gthread,gevent")
    args = parser.parse_args(argv)
    if args.command == "client":
        asyncio.run(client_main(args))
    elif args.command == "publish":
        publish_main(args)
    else:
        sweep(tuple(args.classes.split(",")), tuple(int(x) for x in args.sizes.split(",")), args.rate, args.seconds)


if __name__ == "__main__":
    main()
