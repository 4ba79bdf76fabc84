"""Benchmark 6: the signed registration redirect vs a bare Flask handler doing the same durable work.

The redirect (web/marketplace/redirect.py) verifies the signed user_data, enqueues the install check
(`verify_install`, queue `interactive`), waits for the worker's verdict (YCLIENTS' application status and the
company title, asked from the sandbox), registers the salon (insert + timeline), enqueues its WhatsApp
session and answers 302. The baseline (bench/baseline_app.py) makes the same YCLIENTS calls inline with
`requests`, one INSERT, one Dramatiq enqueue, 302. Both under the same gunicorn class and worker count, in
the same stack, alternately (baseline, redirect, baseline, ...), driven by wrk. The YCLIENTS budget is
lifted on both sides (our limiter and the sandbox's 429s): this measures our code, not the budget.

Every salon is really pending in the sandbox: «Подключить» is pressed first through the sandbox's `/connect`
test control, which also signs each salon's own user_data (its own YCLIENTS user, salon_name = the title).
Each redirect request is a fresh salon (a repeat would be answered from the verdict cache) with its own
X-Forwarded-For (the per-address limits never refuse). A "checking" page is a 200 to wrk, so the non-3xx
count also counts requests that did not register their salon. Then py-spy samples one web worker and the
check worker under load, and the profiles are summarised by where the time goes.
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from bench import wrk
from bench.stack import stack
from bench.stripped import MARKER, PARTS as STRIPPED
from tests.support import BIN

USER_BASE = 2_000_000  # YCLIENTS user id = USER_BASE + salon id: one user (one signature) per salon

# Inclusive profile buckets: a sample counts for each bucket with a frame (function, file) on its stack.
BUCKETS = collections.OrderedDict([
    ("whole request (Flask wsgi_app)", ("wsgi_app", "flask/app.py")),
    ("redirect handler", ("yclients_redirect", "marketplace/redirect.py")),
    ("user_data decode + HMAC", ("", "marketplace/userdata.py")),
    ("registration: DB upsert + timeline", ("register", "marketplace/registration.py")),
    ("before_request DB connect", ("_connect", "marketplace/redirect.py")),
    ("install check: limits + enqueue + wait", ("obtain", "marketplace/verification.py")),
    ("live status reset (Redis)", ("", "models/live.py")),
    ("enqueue start_whatsapp_session", ("send", "runtime/jobs.py")),
    ("link token (JWT)", ("issue", "marketplace/tokens.py")),
    ("metrics", ("", "runtime/metrics.py")),
    ("teardown (DB close)", ("do_teardown_appcontext", "flask/app.py")),
    ("all Redis calls", ("execute_command", "redis/client.py")),
    ("all database calls (peewee)", ("", "peewee.py")),
])
WORKER_BUCKETS = collections.OrderedDict([
    ("the check (check_install)", ("check_install", "onboarding/install_check.py")),
    ("YCLIENTS HTTP calls (requests)", ("request", "requests/sessions.py")),
    ("interactive budget (limiter)", ("", "yclients/ratelimit.py")),
    ("verdict read/write (Redis)", ("", "models/install_check.py")),
    ("dramatiq consumer / worker loop", ("", "dramatiq/worker.py")),
    ("all Redis calls", ("execute_command", "redis/client.py")),
])


def _frames(stack_text: str) -> list[tuple[str, str]]:
    out = []
    for frame in stack_text.split(";"):
        func, _, where = frame.partition(" (")
        out.append((func, where.rstrip(")")))
    return out


class Unmetered:
    """The sandbox's rate limiter with the budget lifted: admits everything and counts arrivals per path only.
    (sandbox.yclients.limits.Limits also measures the busiest 1 s and 60 s windows by scanning every arrival
    of the last 60 s on each request: at hundreds of requests/s that scan, under one lock, was the
    sandbox's whole capacity, about 250 requests/s, and would have been the benchmark's bottleneck.)"""

    def __init__(self):
        self.total = 0
        self.by_path: dict[str, int] = {}

    def hit(self, source: str, path: str) -> float:
        self.total += 1
        self.by_path[path] = self.by_path.get(path, 0) + 1
        return 0.0

    def reset(self) -> None:
        self.__init__()

    def stats(self) -> dict:
        return {"budget": "lifted", "total": self.total, "rejected_429": 0, "by_path": dict(self.by_path)}


def sandbox_app():
    """`gunicorn 'bench.redirect:sandbox_app()'` (one process: the sandbox keeps its state in memory): the YCLIENTS
    sandbox with BENCH_FLEET extra salons (bench/fleet_sandbox.py) and its budget lifted (Unmetered)."""
    import dataclasses
    import os

    from bench.fleet_sandbox import add_fleet
    from sandbox.yclients.app import context_from_env, create_app

    add_fleet(int(os.environ.get("BENCH_FLEET", "0")))
    return create_app(dataclasses.replace(context_from_env(), limits=Unmetered()))


def start_sandbox(s, salons: int) -> None:
    s.start("yclients-sandbox", [str(BIN / "gunicorn"), "--worker-class", "gthread", "--workers", "1", "--threads",
                                 "32", "--bind", f"127.0.0.1:{s.ports['yclients']}", "bench.redirect:sandbox_app()"],
            env={"BENCH_FLEET": str(salons)}, health=f"{s.url('yclients')}/healthz")


def press_connect(sandbox_url: str, salon_ids: list[int], threads: int = 8) -> list[str]:
    """«Подключить» in the YCLIENTS sandbox for every salon (its test control `/connect`): YCLIENTS marks the
    branch pending and answers with the signed redirect to us. Each salon gets its own YCLIENTS user
    (user_id), so its own signed user_data, whose salon_name is the salon's title. Returns the redirect paths."""
    import concurrent.futures
    import threading

    local = threading.local()

    def one(salon_id: int) -> str:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        answer = local.session.get(f"{sandbox_url}/connect", params={"salon_id": salon_id,
                                                                     "user_id": USER_BASE + salon_id},
                                   allow_redirects=False, timeout=30)
        assert answer.status_code == 302, answer.text[:300]
        location = urlsplit(answer.headers["Location"])
        return f"{location.path}?{location.query}"

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, salon_ids))


def summarise_profile(raw_path: Path, buckets=BUCKETS, must: str = "wsgi_app") -> dict:
    """py-spy's raw (collapsed) output -> share of request samples per bucket, plus the top own-time frames."""
    counts = collections.Counter()
    leaves = collections.Counter()
    total = 0
    for line in raw_path.read_text().splitlines():
        stack_text, _, n = line.rpartition(" ")
        if must not in stack_text:
            continue  # idle threads, the poller, the arbiter
        n = int(n)
        total += n
        frames = _frames(stack_text)
        for label, (func, path) in buckets.items():
            if any(func in f and path in w for f, w in frames):
                counts[label] += n
        func, where = frames[-1]
        leaves[f"{func} {where.rsplit('/', 2)[-1]}"] += n
    return {"samples": total, "share": {k: round(100 * counts[k] / total, 1) for k in buckets if total},
            "top_leaves": [(k, round(100 * v / total, 1)) for k, v in leaves.most_common(12)] if total else []}


def profile(service, run_load, seconds: int, label: str, buckets=BUCKETS, must: str = "wsgi_app") -> dict:
    """py-spy on one process of `service` (a gunicorn worker, or the dramatiq worker) while `run_load()` drives
    the redirect; the raw collapsed stacks are kept under the stack's directory for the doc."""
    pid = service.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    target = int(children[0]) if children else pid
    out = Path(tempfile.mkdtemp(prefix="pyspy-")) / f"{label}.txt"
    spy = subprocess.Popen([str(BIN / "py-spy"), "record", "--format", "raw", "-r", "200", "-d", str(seconds),
                            "-o", str(out), "-p", str(target)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    run_load()
    _, err = spy.communicate(timeout=60)
    if not out.exists():
        return {"error": err.decode()[-500:]}
    return {**summarise_profile(out, buckets, must), "raw": str(out)}


def start_web(s, name: str, worker_class: str, workers: int, threads: int, app: str, env: dict | None = None):
    """gunicorn serving `app` with the Procfile's web settings for `worker_class` (gevent: 3000 connections)."""
    from tests.support import free_port

    port = s.ports.setdefault(name, free_port())
    argv = [str(BIN / "gunicorn"), "--worker-class", worker_class, "--workers", str(workers), "--timeout", "120",
            "--bind", f"127.0.0.1:{port}"]
    argv += ["--threads", str(threads)] if worker_class == "gthread" else ["--worker-connections", "3000"]
    return s.start(name, argv + [app], env=env, health=f"http://127.0.0.1:{port}/healthz")


def _requests(result: dict) -> int:
    match = re.search(r"(\d+) requests in", result.get("raw", ""))
    return int(match.group(1)) if match else 0


def _salons(database_url: str) -> tuple[int, int]:
    """(rows, highest salon id) in the salon table."""
    from models.db import make_database

    db = make_database(database_url)
    with db.connection_context():
        count, highest = db.execute_sql("SELECT count(*), max(salon_id) FROM salon").fetchone()
    return count, highest or 0


def _stripped_verified(s, results: dict, classes, stripped_redis: str) -> dict:
    """That the what-if really ran without its parts and the redirect with them: the installs' timeline rows of each
    one's salons (the stripped: none), and what the stripped worker says it switched off (bench.stripped.MARKER, on
    the stripped side's Redis, where only that worker takes checks: every stripped redirect's check was its)."""
    import redis

    from models.db import make_database
    from models.timeline import TimelineEvent

    db = make_database(s.settings.database_url)
    table = TimelineEvent._meta.table_name

    def timeline_rows(kind: str) -> int:
        total = 0
        with db.connection_context():
            for c in classes:
                for run in results[f"{kind}-{c}"]:
                    low, high = run["salon_range"]
                    total += db.execute_sql(f"SELECT count(*) FROM {table} WHERE kind = 'registration_started' "
                                            f"AND salon_id > {db.param} AND salon_id <= {db.param}",
                                            (low, high)).fetchone()[0]
        return total

    client = redis.Redis.from_url(stripped_redis)
    try:
        switched_off = (client.get(MARKER) or b"").decode()
    finally:
        client.close()
    return {"redirect_timeline_rows": timeline_rows("redirect"),
            "redirect_registered": sum(r["registered"] for c in classes for r in results[f"redirect-{c}"]),
            "stripped_timeline_rows": timeline_rows("stripped"),
            "stripped_registered": sum(r["registered"] for c in classes for r in results[f"stripped-{c}"]),
            "stripped_worker_switched_off": switched_off.split(",") if switched_off else []}


def with_db(url: str, db: int) -> str:
    """`url` (redis:// or unix://, as REDIS_URL) pointing at database `db` instead."""
    parts = urlsplit(url)
    if parts.scheme == "unix":  # the database is a query parameter: unix:///path/redis.sock?db=0
        query = dict(parse_qsl(parts.query), db=str(db))
        return f"unix://{parts.path}?{urlencode(query)}"
    return urlunsplit(parts._replace(path=f"/{db}"))


def redis_transports(url: str) -> dict[str, int]:
    """How the processes still connected to the stack's Redis reach it: Unix socket or TCP (this query's own
    connection left out), so a run says what it measured."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        own = client.client_id()
        clients = [c for c in client.client_list() if int(c["id"]) != own]
    finally:
        client.close()
    unix = sum(1 for c in clients if c["addr"].startswith("/"))
    return {"unix": unix, "tcp": len(clients) - unix}


def _cpu_seconds(pid: int) -> float:
    """user+system CPU of a process and its children (gunicorn's workers), from /proc."""
    import os

    total = 0.0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{current}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def _cpu(s) -> dict[str, float]:
    pids = {name: service.process.pid for name, service in s.services.items()}
    pids["redis"] = s.redis_process.pid
    return {name: _cpu_seconds(pid) for name, pid in pids.items()}


def _cpu_per_request(before: dict, after: dict, requests_done: int, names) -> dict[str, float]:
    """CPU milliseconds per answered request, per process (tree) that took part."""
    return {name: round(1000 * (after[name] - before[name]) / max(1, requests_done), 2) for name in names}


def _outcomes(s, name: str) -> dict[str, float]:
    """aiadmin_redirects_total by outcome, over every process of the web service (prometheus multiprocess)."""
    text = requests.get(s.url(name) + "/metrics", headers={"Authorization": f"Bearer {s.settings.health_token}"},
                        timeout=30).text
    found = re.findall(r'^aiadmin_redirects_total\{outcome="([^"]+)"\} ([\d.e+]+)$', text, re.M)
    return {outcome: float(n) for outcome, n in found}


LIFTED = "100000/s"  # the YCLIENTS budget, lifted on both sides (our limiter and the sandbox's 429s)


def bench(rounds: int = 3, seconds: int = 5, workers: int = 2, threads: int = 8, connections: int = 32,
          salons: int = 16000, with_profile: bool = True, classes=("gevent",), worker_threads: int = 8,
          database_url: str | None = None, baseline_calls: str = "status,company", floor: bool = True,
          stripped: bool = False, redis_socket: bool = False) -> dict:
    """Baseline, floor (with `floor`), redirect and (with `stripped`) the stripped redirect (bench/stripped.py) on each
    worker class in `classes`, alternately, `rounds` times, over `salons` salons pressed «Подключить» in the sandbox
    beforehand (each redirect request a fresh one)."""
    from bench.fleet_sandbox import FLEET_START, fleet_ids

    with stack(database_url=database_url, rate_limit=LIFTED, redis_socket=redis_socket) as s:
        start_sandbox(s, salons)
        ids = fleet_ids(salons)
        paths = press_connect(s.url("yclients"), ids)
        # The Procfile's worker (1 process, 8 threads), here on the install check's queue only.
        s.start_worker("worker", processes=1, threads=worker_threads, queues=("interactive",))
        if floor:  # the same worker shape (1 process, `worker_threads` threads), bare Dramatiq
            s.start("floor-worker", [str(BIN / "dramatiq"), "bench.floor_worker:setup", "--processes", "1",
                                     "--threads", str(worker_threads), "--queues", "bench_floor"],
                    env={"dramatiq_worker_timeout": "100"})
        # The stripped redirect and its worker on Redis database 1: the two workers never take each other's checks.
        own_redis = {"REDIS_URL": with_db(s.settings.redis_url, 1)}
        if stripped:
            s.start("worker-stripped", [str(BIN / "dramatiq"), "bench.stripped:worker", "--skip-logging",
                                        "--processes", "1", "--threads", str(worker_threads), "--queues",
                                        "interactive"], env={"dramatiq_worker_timeout": "100", **own_redis})
        for c in classes:
            start_web(s, f"web-{c}", c, workers, threads, "web:create_app()")
            start_web(s, f"baseline-{c}", c, workers, threads, "bench.baseline_app:create_app()",
                      env={"BASELINE_CALLS": baseline_calls})
            if floor:
                start_web(s, f"floor-{c}", c, workers, threads, "bench.floor_app:create_app()")
            if stripped:
                start_web(s, f"stripped-{c}", c, workers, threads, "bench.stripped:create_app()", env=own_redis)
        kinds = ("baseline", "floor", "redirect") if floor else ("baseline", "redirect")
        kinds += ("stripped",) if stripped else ()
        results = {f"{kind}-{c}": [] for c in classes for kind in kinds}
        used = 0

        def measured(name: str, run_paths: list[str], secs: int, services, settle: float = 0.0) -> dict:
            """wrk on `name` for `secs`, with the CPU per answered request of each of `services`; `settle` seconds
            after wrk stops, before the CPU is read (requests still in flight finish; they are not in its count)."""
            cpu_before = _cpu(s)
            result = wrk.run(s.url(name), run_paths, seconds=secs, connections=connections, unique_ip=True)
            time.sleep(settle)
            result["requests"] = _requests(result)
            result["loadavg"] = Path("/proc/loadavg").read_text().split()[0]
            result["cpu_ms_per_request"] = _cpu_per_request(cpu_before, _cpu(s), result["requests"], services)
            return result

        def redirect_run(c: str, secs: int, web: str = "web", worker: str = "worker") -> dict:
            nonlocal used
            before, low = _salons(s.settings.database_url)
            outcomes_before = _outcomes(s, f"{web}-{c}")
            # Past the end, wrk would wrap onto used salons: flagged as "reused" (the row is then not met).
            result = measured(f"{web}-{c}", paths[used:] or paths, secs,
                              (f"{web}-{c}", worker, "yclients-sandbox", "redis"), settle=1)
            after, highest = _salons(s.settings.database_url)
            # Each wrk thread takes every other path: the next run starts after the highest salon used.
            used = highest - FLEET_START
            # A 200 "checking" page is a 2xx to wrk: every request must have registered its own salon.
            result["registered"] = after - before
            result["salon_range"] = (low, highest)  # the salons this run registered: above low, up to highest
            outcomes = _outcomes(s, f"{web}-{c}")
            result["outcomes"] = {k: int(v - outcomes_before.get(k, 0)) for k, v in outcomes.items()
                                  if v - outcomes_before.get(k, 0)}
            # Every answer but "ok" (a 302 with a fresh salon registered) counts, "checking" (200) included.
            result["non_3xx"] = result["errors"] + sum(n for k, n in result["outcomes"].items() if k != "ok")
            # wrk wraps round its list at the end: fewer salons registered than answers means some were pressed twice.
            result["reused"] = used >= len(paths) or result["registered"] < result["requests"]
            return result

        def bare_run(name: str, services) -> dict:
            result = measured(name, paths, seconds, services)
            result["non_3xx"] = result["errors"]
            return result

        for _ in range(rounds):
            for c in classes:
                results[f"baseline-{c}"].append(bare_run(f"baseline-{c}", (f"baseline-{c}", "yclients-sandbox",
                                                                               "redis")))
                if floor:
                    results[f"floor-{c}"].append(bare_run(f"floor-{c}", (f"floor-{c}", "floor-worker",
                                                                         "yclients-sandbox", "redis")))
                results[f"redirect-{c}"].append(redirect_run(c, seconds))
                if stripped:
                    results[f"stripped-{c}"].append(redirect_run(c, seconds, "stripped", "worker-stripped"))
        prof = {}
        if with_profile:
            c = classes[0]
            prof["web"] = profile(s.services[f"web-{c}"], lambda: redirect_run(c, seconds), seconds, "web")
            prof["worker"] = profile(s.services["worker"], lambda: redirect_run(c, seconds), seconds, "worker",
                                     WORKER_BUCKETS, "process_message")
        stats = requests.get(s.url("yclients") + "/_sandbox/stats", timeout=10).json()
        verified = _stripped_verified(s, results, classes, own_redis["REDIS_URL"]) if stripped else {}
        transports = redis_transports(s.settings.redis_url)
    for runs in results.values():
        for run in runs:
            run.pop("raw", None)
    return {"config": f"web and baseline: gunicorn -w{workers} (gthread --threads {threads} | gevent "
                      f"--worker-connections 3000); check worker: dramatiq 1 process x {worker_threads} threads "
                      f"(interactive); wrk -t2 -c{connections} -d{seconds}s; budget {LIFTED} both sides; "
                      f"baseline calls {baseline_calls}; "
                      f"floor: {'bench/floor_app.py + floor_worker.py' if floor else 'none'}; "
                      f"stripped: {'bench/stripped.py without ' + ', '.join(STRIPPED) if stripped else 'none'}; "
                      f"{salons} salons from {FLEET_START + 1}; "
                      f"Redis over {'a Unix socket' if redis_socket else 'TCP'}",
            **results, "redis_clients": transports, "profile": prof, "salons_used": used,
            "sandbox_requests": stats.get("total"),
            **({"stripped_verified": verified} if stripped else {})}


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def run(rounds: int = 3, seconds: int = 5, profile: bool = True, classes=("gevent", "gthread"),
        salons: int = 16000) -> list[dict]:
    result = bench(rounds, seconds, with_profile=profile, classes=classes, salons=salons)
    rows = []
    for c in classes:
        base, red = result[f"baseline-{c}"], result[f"redirect-{c}"]
        base_rps, red_rps = median([r["rps"] for r in base]), median([r["rps"] for r in red])
        floor_rps = median([r["rps"] for r in result.get(f"floor-{c}", [])] or [0])
        errors = sum(r["non_3xx"] for r in base + red)
        ratio = red_rps / base_rps if base_rps else 0.0
        reused = any(r.get("reused") for r in red)
        rows.append({"benchmark": f"6. redirect vs bare check+insert+enqueue baseline ({c}, both), median of {rounds}",
                     "value": f"redirect {red_rps:,.0f} req/s (p99 {median([r.get('p99_ms', 0) for r in red])} ms) vs "
                              f"baseline {base_rps:,.0f} req/s (p99 {median([r.get('p99_ms', 0) for r in base])} ms) "
                              f"= {ratio:.2f}x; non-3xx {errors}" + ("; SALONS REUSED" if reused else "")
                              + (f"; the bare shape (floor, bench/floor_app.py) {floor_rps:,.0f} req/s = "
                                 f"{floor_rps / base_rps:.2f}x" if floor_rps and base_rps else ""),
                     "target": ">= 0.8x baseline, non-3xx 0", "ok": ratio >= 0.8 and errors == 0 and not reused})
    rows[0]["detail"] = result
    web = result["profile"].get("web", {}).get("share", {})
    rows[0]["profile"] = ", ".join(f"{k} {v}%" for k, v in web.items())
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--worker-threads", type=int, default=8)
    parser.add_argument("--salons", type=int, default=16000)
    parser.add_argument("--classes", default="gevent,gthread")
    parser.add_argument("--baseline-calls", default="status,company")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--no-floor", action="store_true", help="leave out the bare enqueue-and-wait floor")
    parser.add_argument("--stripped", action="store_true",
                        help="also the redirect without the parts bench/stripped.py switches off (a what-if)")
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--redis-socket", action="store_true",
                        help="every process talks to Redis over a Unix socket (as `make run`), not TCP")
    args = parser.parse_args()
    from bench.sync import drop_pg, pg_database

    url = pg_database() if args.db == "postgresql" else None
    try:
        print(json.dumps(bench(args.rounds, args.seconds, args.workers, args.threads, salons=args.salons,
                               with_profile=not args.no_profile, classes=tuple(args.classes.split(",")),
                               worker_threads=args.worker_threads, database_url=url,
                               baseline_calls=args.baseline_calls, floor=not args.no_floor,
                               stripped=args.stripped, redis_socket=args.redis_socket), indent=1,
                         default=str))
    finally:
        if url:
            drop_pg(url)
