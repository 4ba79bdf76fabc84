"""Benchmark 6: the signed registration redirect vs a bare Flask SQLite-insert + Dramatiq-enqueue handler.

Both run under the same gunicorn settings in the same stack, alternately (baseline, redirect, baseline, ...),
driven by wrk over pre-generated URLs: every redirect URL is a fresh salon with its own signed user_data
(signatures are one-time, so a repeated URL would be answered 403 "replayed"). Then py-spy samples one
redirect worker under load, and the profile is summarised by where the request time goes.
"""
from __future__ import annotations

import argparse
import collections
import json
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from sandbox.yclients.signing import demo_user, signed_user_data
from bench import wrk
from bench.stack import stack
from tests.support import BIN

FIRST_SALON = 1_000_000

# Inclusive profile buckets: a sample counts for each bucket with a frame (function, file) on its stack.
BUCKETS = collections.OrderedDict([
    ("whole request (Flask wsgi_app)", ("wsgi_app", "flask/app.py")),
    ("redirect handler", ("yclients_redirect", "marketplace/redirect.py")),
    ("user_data decode + HMAC", ("", "marketplace/userdata.py")),
    ("registration: DB upsert + timeline", ("register", "marketplace/registration.py")),
    ("before_request DB connect", ("_connect", "marketplace/redirect.py")),
    ("live status reset (Redis)", ("", "models/live.py")),
    ("enqueue start_whatsapp_session", ("send", "runtime/jobs.py")),
    ("link token (JWT)", ("issue", "marketplace/tokens.py")),
    ("metrics", ("", "runtime/metrics.py")),
    ("teardown (DB close)", ("do_teardown_appcontext", "flask/app.py")),
    ("all Redis calls", ("execute_command", "redis/client.py")),
    ("all database calls (peewee)", ("", "peewee.py")),
])


def _frames(stack_text: str) -> list[tuple[str, str]]:
    out = []
    for frame in stack_text.split(";"):
        func, _, where = frame.partition(" (")
        out.append((func, where.rstrip(")")))
    return out


def signed_paths(settings, count: int, first: int = FIRST_SALON) -> list[str]:
    paths = []
    for i in range(count):
        salon_id = first + i
        user_data, sign = signed_user_data(demo_user(f"Салон {salon_id}", 2_000_000 + salon_id),
                                           settings.yclients_partner_token)
        paths.append("/auth/yclients/redirect?" + urlencode({"salon_id": salon_id, "user_data": user_data,
                                                             "user_data_sign": sign}))
    return paths


def summarise_profile(raw_path: Path) -> dict:
    """py-spy's raw (collapsed) output -> share of request samples per bucket, plus the top own-time frames."""
    counts = collections.Counter()
    leaves = collections.Counter()
    total = 0
    for line in raw_path.read_text().splitlines():
        stack_text, _, n = line.rpartition(" ")
        if "wsgi_app" not in stack_text:
            continue  # idle threads, the poller, the arbiter
        n = int(n)
        total += n
        frames = _frames(stack_text)
        for label, (func, path) in BUCKETS.items():
            if any(func in f and path in w for f, w in frames):
                counts[label] += n
        func, where = frames[-1]
        leaves[f"{func} {where.rsplit('/', 2)[-1]}"] += n
    return {"samples": total, "share": {k: round(100 * counts[k] / total, 1) for k in BUCKETS if total},
            "top_leaves": [(k, round(100 * v / total, 1)) for k, v in leaves.most_common(12)] if total else []}


def profile(service, url_paths, base, seconds: int = 8) -> dict:
    """py-spy on one gunicorn worker while wrk drives the redirect."""
    master = service.process.pid
    worker = int(Path(f"/proc/{master}/task/{master}/children").read_text().split()[0])
    out = Path(tempfile.mkdtemp(prefix="pyspy-")) / "redirect.txt"
    spy = subprocess.Popen([str(BIN / "py-spy"), "record", "--format", "raw", "-r", "200", "-d", str(seconds),
                            "-o", str(out), "-p", str(worker)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wrk.run(base, url_paths, seconds=seconds, unique_ip=True)
    _, err = spy.communicate(timeout=60)
    if not out.exists():
        return {"error": err.decode()[-500:]}
    return summarise_profile(out)


def start_redirect_web(s, name: str, worker_class: str, workers: int, threads: int):
    extra = () if worker_class == "gthread" else ("--worker-connections", "1000")
    return s.start_web(name, worker_class=worker_class, workers=workers, threads=threads, extra=extra)


def bench(rounds: int = 3, seconds: int = 10, workers: int = 2, threads: int = 8, connections: int = 32,
          with_profile: bool = True, classes=("gthread",), database_url: str | None = None) -> dict:
    """Baseline and the redirect on each worker class in `classes`, alternately, `rounds` times."""
    from tests.support import free_port

    with stack(database_url=database_url) as s:
        for worker_class in classes:
            start_redirect_web(s, f"web-{worker_class}", worker_class, workers, threads)
        base_port = s.ports.setdefault("baseline", free_port())
        baseline = s.start("baseline", [str(BIN / "gunicorn"), "--worker-class", "gthread", "--workers", str(workers),
                                        "--threads", str(threads), "--bind", f"127.0.0.1:{base_port}",
                                        "bench.baseline_app:create_app()"],
                           health=f"http://127.0.0.1:{base_port}/healthz")
        per_round = 3000 * seconds  # more unique URLs than any round can use
        paths = signed_paths(s.settings, per_round * (rounds * len(classes) + 1))
        results = {"baseline": [], **{f"redirect-{c}": [] for c in classes}}
        chunks = iter(range(0, len(paths), per_round))
        for _ in range(rounds):
            targets = [("baseline", s.url("baseline"))] + [(f"redirect-{c}", s.url(f"web-{c}")) for c in classes]
            for name, url in targets:
                start = next(chunks) if name != "baseline" else 0  # the baseline ignores the signature
                results[name].append(wrk.run(url, paths[start:start + per_round], seconds=seconds,
                                             connections=connections, unique_ip=True))
        prof = (profile(s.services[f"web-{classes[0]}"], paths[next(chunks):], s.url(f"web-{classes[0]}"))
                if with_profile else {})
        baseline.kill()
    for runs in results.values():
        for run in runs:
            run.pop("raw", None)
    return {"config": f"gunicorn -w{workers} (gthread --threads {threads} | gevent --worker-connections 1000), "
                      f"wrk -t2 -c{connections} -d{seconds}s", **results, "profile": prof}


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def run(rounds: int = 3, seconds: int = 10, profile: bool = True, classes=("gthread", "gevent")) -> list[dict]:
    result = bench(rounds, seconds, with_profile=profile, classes=classes)
    base_rps = median([r["rps"] for r in result["baseline"]])
    base_p99 = median([r.get("p99_ms", 0) for r in result["baseline"]])
    prof = result["profile"].get("share", {})
    rows = []
    for c in classes:
        runs = result[f"redirect-{c}"]
        red_rps = median([r["rps"] for r in runs])
        errors = sum(r["errors"] for r in runs)
        ratio = red_rps / base_rps
        rows.append({"benchmark": f"6. redirect ({c}) vs bare insert+enqueue baseline (gthread), median of {rounds}",
                     "value": f"redirect {red_rps:,.0f} req/s (p99 {median([r.get('p99_ms', 0) for r in runs])} ms) vs "
                              f"baseline {base_rps:,.0f} req/s (p99 {base_p99} ms) = {ratio:.2f}x; non-3xx {errors}",
                     "target": ">= 0.8x baseline", "ok": ratio >= 0.8 and errors == 0})
    rows[0]["detail"] = result
    rows[0]["profile"] = ", ".join(f"{k} {v}%" for k, v in prof.items())
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--classes", default="gthread,gevent")
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    from bench.sync import drop_pg, pg_database

    url = pg_database() if args.db == "postgresql" else None
    try:
        print(json.dumps(bench(args.rounds, args.seconds, args.workers, args.threads,
                               classes=tuple(args.classes.split(",")), database_url=url), indent=1, default=str))
    finally:
        if url:
            drop_pg(url)
