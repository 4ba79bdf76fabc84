"""`python -m bench` (`make bench`): run the benchmark suite over the real processes and print a table.

    python -m bench                  # all seven, default sizes (~25 min on 2 cores)
    python -m bench --only 4,6       # some of them
    python -m bench --large          # also the large salon's full sync at the official budget (~3 min)
    python -m bench --smoke          # every benchmark at a tiny size (CI smoke run; numbers meaningless)
    python -m bench --json out.json  # also write every row with its details
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time

SMOKE = {
    "onboarding": {"n_latency": 2, "n_burst": 3, "interval": 0.5, "layouts": ("procfile",)},
    "sync": {"large": False, "repeats": 1, "lifted": False, "storage_rows": (400, 1000),
             "small_salon": 997441},
    "websockets": {"sizes": (20,), "rate": 50, "seconds": 1},
    "webhooks": {"rate": 50, "seconds": 1, "repeats": 1, "wrk_seconds": 1, "classes": ("gevent",)},
    "redirect": {"rounds": 1, "seconds": 1, "profile": False, "classes": ("gevent",), "salons": 800},
    "crash": {"repeats": 1},
}


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def table(rows: list[dict]) -> str:
    lines = ["| benchmark | p50 | p95 | p99 | unit | result | target | met |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        met = {True: "yes", False: "**no**", None: "–"}[r.get("ok")]
        lines.append(f"| {r['benchmark']} | {_fmt(r.get('p50'))} | {_fmt(r.get('p95'))} | {_fmt(r.get('p99'))} | "
                     f"{r.get('unit', '')} | {r.get('value', '')} | {r.get('target', '')} | {met} |")
    return "\n".join(lines)


def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict:
    """The machine and the versions every number depends on (printed with the table, docs/performance.md)."""
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10).stdout.strip()
        except Exception:
            return ""

    info = {"nproc": sh("nproc"), "cpu": sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip(),
            "memory": sh("free -h | awk '/Mem:/ {print $2}'"), "python": platform.python_version(),
            "redis-server": sh("redis-server --version | awk '{print $3}' | cut -d= -f2"), "sqlite": __import__("sqlite3").sqlite_version,
            "postgresql": sh("psql -V 2>/dev/null | awk '{print $3}'"), "wrk": sh("command -v wrk >/dev/null && wrk -v 2>&1 | head -1 | awk '{print $2}'") or "not installed",
            "load_before": sh("cut -d' ' -f1-3 /proc/loadavg")}
    for dist in ("gunicorn", "gevent", "flask", "flask-sock", "dramatiq", "redis", "peewee", "psycopg2-binary",
                 "psycogreen", "orjson", "urllib3", "hiredis"):
        info["redis-py" if dist == "redis" else dist] = _version(dist)
    return info


def load_average() -> str:
    try:
        with open("/proc/loadavg") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:
        return ""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", default="1,2,3,4,5,6,7", help="comma-separated benchmark numbers")
    parser.add_argument("--large", action="store_true", help="include the large salon at 5/s,200/min (~3 min)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds each (CI)")
    parser.add_argument("--json", default="", help="write the rows with details to this file")
    args = parser.parse_args(argv)
    only = {int(x) for x in args.only.split(",") if x.strip()}
    smoke = args.smoke
    rows: list[dict] = []
    info = machine()
    print(f"machine: {info}", file=sys.stderr, flush=True)
    started = time.monotonic()

    def step(label, fn):
        t = time.monotonic()
        print(f"-- {label} ...", file=sys.stderr, flush=True)
        try:
            got = fn()
        except Exception as exc:  # one broken benchmark must not hide the others' numbers
            got = [{"benchmark": label, "value": f"FAILED: {type(exc).__name__}: {exc}"[:300], "ok": False}]
        load = load_average()
        for row in got:
            row.setdefault("load", load)
        rows.extend(got)
        print(table(got), file=sys.stderr, flush=True)
        print(f"   ({time.monotonic() - t:.0f}s, load average {load_average()})", file=sys.stderr, flush=True)

    if only & {1, 2}:
        from bench import onboarding

        kw = SMOKE["onboarding"] if smoke else {}
        step("1-2 onboarding", lambda: [r for r in onboarding.run(**kw)
                                       if int(r["benchmark"][0]) in only])
    if 3 in only:
        from bench import sync

        kw = SMOKE["sync"] if smoke else {"large": args.large}
        step("3 sync", lambda: sync.run(**kw))
    if 4 in only:
        from bench import ws_fanout

        kw = SMOKE["websockets"] if smoke else {}
        step("4 websockets", lambda: ws_fanout.run(**kw))
    if 5 in only:
        from bench import webhooks

        kw = SMOKE["webhooks"] if smoke else {}
        step("5 webhooks", lambda: webhooks.run(**kw))
    if 6 in only:
        from bench import redirect

        kw = SMOKE["redirect"] if smoke else {}
        step("6 redirect", lambda: redirect.run(**kw))
    if 7 in only:
        from bench import crash_recovery

        kw = SMOKE["crash"] if smoke else {}
        step("7 crash recovery", lambda: crash_recovery.run(**kw))

    info["load_after"] = load_average()
    print(f"\nmachine: {info}; total {time.monotonic() - started:.0f}s\n")
    print(table(rows))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": info, "rows": rows}, fh, indent=1, default=str, ensure_ascii=False)
    return 0 if all(r.get("ok") is not False for r in rows) or smoke else 1


if __name__ == "__main__":
    raise SystemExit(main())
