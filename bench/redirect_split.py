"""Benchmark 6's CPU split, one side at a time: the redirect's web CPU and the install check's worker CPU.

    python -m bench.redirect_split                # both parts, 400 checks each
    python -m bench.redirect_split --part web     # or: --part check
    python -m bench.redirect_split --profile tottime
    python -m bench.redirect_split --components  # thread CPU per part of the redirect and of the check
    python -m bench.redirect_split --part web --redis  # Redis' own µs per redirect by command and Lua script

`web`: the web app in this process (Flask test client, no gunicorn), each request a new salon pressed
«Подключить» in the YCLIENTS sandbox, its check answered by a real Dramatiq worker process; prints the web's
CPU ms per redirect (this process's user+system time). `check`: `check_install` in this process for stored
requests (the worker's code without Dramatiq), then the same number of `verify_install` messages through a
real worker process (1 x 8 threads, as the Procfile); prints CPU ms per check for both and Redis' CPU.
With `--components`, the thread CPU of each part of both (bench/cpu_components.py) per redirect and per check.
With `--redis`, Redis' own time per redirect (its check included) by command and Lua script (bench/redis_cost.py).
Budget lifted, like bench 6. Steadier than the closed-loop run for comparing two versions of one side:
run both versions alternately, several times (docs/performance/redirect.md).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import resource
import time
from pathlib import Path

import requests

from bench.fleet_sandbox import fleet_ids
from bench.redirect import LIFTED, _cpu_seconds, press_connect, start_sandbox
from bench.stack import stack


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def web_targets() -> dict:
    """The redirect's parts, for `--components` (bench/cpu_components.py); nested ones count in each."""
    import logging

    import flask

    from models import install_check as ic
    from runtime import metrics
    from runtime.jobs import Jobs
    from web.marketplace import check_gate, redirect, registration, tokens, verification

    return {
        "whole request (Flask wsgi_app)": (flask.Flask, "wsgi_app"),
        "app hooks: before_request": (flask.Flask, "preprocess_request"),
        "app hooks: after_request (headers)": (flask.Flask, "process_response"),
        "app hooks: teardown (DB close)": (flask.Flask, "do_teardown_request"),
        "handler (dispatch_request)": (flask.Flask, "dispatch_request"),
        "signature + input (HMAC, user_data)": (redirect, "_signed_input"),
        "install check (obtain)": (verification, "obtain"),
        "  gate script (limits, open, enqueue)": (check_gate, "enter"),
        "  verdict wait (BRPOPLPUSH)": (ic, "wait_verdict"),
        "registration (2 rows, 1 transaction)": (registration, "register"),
        "session job + live reset (1 round trip)": (Jobs, "start_whatsapp_sessions"),
        "link token (JWT)": (tokens, "issue"),
        "log lines (info)": (logging.Logger, "info"),
        "metrics": (metrics, "redirect"),
    }


def web_part(s, paths: list[str], profile: str | None = None, split: bool = False,
             redis_split: bool = False) -> dict:
    import os

    import redis

    from bench.cpu_components import components, garbage_collections
    from bench.redis_cost import every_command
    from tests.support import settings_env
    from web.app import create_app

    os.environ.update(settings_env(s.settings))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(s.root / "metrics")
    with components(web_targets()) if split else contextlib.nullcontext() as spent:
        client = create_app().test_client()  # inside: the app keeps the wsgi_app it is given at creation
        warm, timed = paths[:20], paths[20:]

        def press(i: int, path: str) -> None:
            answer = client.get(path, headers={"X-Forwarded-For": f"10.{i // 62500}.{i // 250 % 250}.{i % 250}"})
            assert answer.status_code == 302, (answer.status_code, answer.data[:300])

        for i, path in enumerate(warm):
            press(i, path)
        if spent is not None:
            spent.reset()  # the first requests' one-off costs are not the redirect's
        server = redis.Redis.from_url(s.settings.redis_url)
        with every_command(server) if redis_split else contextlib.nullcontext() as commands:
            profiler = _profiled(profile)
            started, wall = _cpu(), time.time()
            with garbage_collections() as gc_spent:
                for i, path in enumerate(timed, start=len(warm)):
                    press(i, path)
            cpu, wall = _cpu() - started, time.time() - wall
            _print_profile(profiler, profile)
            if commands is not None:
                time.sleep(0.3)  # the worker's last acks ride on its consumer's next round trip (<= 100 ms)
        server.close()
    result = {"web_cpu_ms_per_redirect": round(1000 * cpu / len(timed), 2),
              "wall_ms_per_redirect": round(1000 * wall / len(timed), 1), "redirects": len(timed),
              # Of the CPU: the garbage collector's (round 7), and how often it ran.
              "gc_ms_per_redirect": round(1000 * gc_spent["cpu"] / len(timed), 3),
              "gc_collections_per_redirect": round(gc_spent["collections"] / len(timed), 3)}
    if spent is not None:
        result["web_components"] = spent.per(len(timed))
    if commands is not None:
        result["redis_commands"] = commands.per(len(timed))
        result["redis_log_lost"] = commands.lost
    return result


def _profiled(profile: str | None):
    if not profile:
        return None
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    return profiler


def _print_profile(profiler, profile: str | None) -> None:
    if profiler:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats(profile).print_stats(40)


def check_targets() -> dict:
    """The install check's parts, for `--components`; the Dramatiq share is the worker's CPU per check less these."""
    from redis.client import Pipeline

    from models import install_check as ic
    from runtime.yclients.client import YclientsClient
    from runtime.yclients.ratelimit import SlidingWindowLimiter
    from runtime.yclients.transport import Transport
    from workers.onboarding import install_check

    return {
        "the check (check_install)": (install_check, "check_install"),
        "  read + first budget slot (ic.load)": (ic, "load"),
        "  the decision (decide: 2 YCLIENTS calls)": (install_check, "decide"),
        "    YCLIENTS client (request)": (YclientsClient, "request"),
        "      HTTP (transport, urllib3)": (Transport, "request"),
        "      budget (limiter.acquire)": (SlidingWindowLimiter, "acquire"),
        "  Redis pipelines (read, verdict)": (Pipeline, "execute"),
    }


def check_part(s, ids: list[int], profile: str | None = None, split: bool = False) -> dict:
    from bench.cpu_components import components
    from models import install_check as ic
    from runtime.bootstrap import build_container
    from workers.onboarding import install_check

    c = build_container(s.settings, "worker")
    headers = {"Authorization": f"Bearer {s.settings.yclients_partner_token}", "X-Partner-Id": "1",
               "Accept": "application/vnd.yclients.v2+json"}

    def stored(batch: list[int], prefix: str) -> list[str]:
        checks = []
        for salon_id in batch:
            title = requests.get(f"{s.url('yclients')}/api/v1/company/{salon_id}", headers=headers,
                                 timeout=10).json()["data"]["title"]
            ic.open_request(c.redis, f"{prefix}{salon_id}", [salon_id], title)
            checks.append(f"{prefix}{salon_id}")
        return checks

    half = len(ids) // 2
    checks = stored(ids[:half], "inproc-")
    with components(check_targets()) if split else contextlib.nullcontext() as spent:
        profiler = _profiled(profile)
        started = _cpu()
        for check in checks:
            assert install_check.check_install(c.yclients_interactive, c.redis, check).status == ic.CONFIRMED
        in_process = 1000 * (_cpu() - started) / len(checks)
        _print_profile(profiler, profile)
    more = {"check_components": spent.per(len(checks))} if spent is not None else {}

    checks = stored(ids[half:], "worker-")
    worker = s.start_worker("worker", processes=1, threads=8, queues=("interactive",))
    time.sleep(2)
    worker_cpu, redis_cpu = _cpu_seconds(worker.process.pid), _cpu_seconds(s.redis_process.pid)
    for check in checks:
        c.jobs.verify_install(check)
    while not all(c.redis.mget([ic.verdict_key(check) for check in checks])):
        time.sleep(0.05)
    return {"check_cpu_ms_in_process": round(in_process, 2),
            "worker_cpu_ms_per_check": round(1000 * (_cpu_seconds(worker.process.pid) - worker_cpu) / len(checks), 2),
            "redis_cpu_ms_per_check": round(1000 * (_cpu_seconds(s.redis_process.pid) - redis_cpu) / len(checks), 2),
            "checks": len(checks), **more}


def run(part: str = "both", n: int = 400, profile: str | None = None, split: bool = False,
        redis_split: bool = False) -> dict:
    result = {"loadavg_before": open("/proc/loadavg").read().split()[0]}
    with stack(rate_limit=LIFTED) as s:
        start_sandbox(s, 2 * n + 40)
        ids = fleet_ids(2 * n + 40)
        paths = press_connect(s.url("yclients"), ids)  # every salon pending in YCLIENTS, as after «Подключить»
        if part in ("both", "check"):
            result.update(check_part(s, ids[:n], profile, split))
            s.services.pop("worker").stop()
        if part in ("both", "web"):
            paths = paths[n:n + n + 20]
            s.start_worker("worker", processes=1, threads=8, queues=("interactive",))
            result.update(web_part(s, paths, profile, split, redis_split))
    result["loadavg_after"] = open("/proc/loadavg").read().split()[0]
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("both", "web", "check"), default="both")
    parser.add_argument("-n", type=int, default=400, help="redirects (web) and checks (check)")
    parser.add_argument("--profile", choices=("tottime", "cumulative"), help="cProfile the web part and the in-process check")
    parser.add_argument("--components", action="store_true",
                        help="thread CPU per part of the redirect and of the check (bench/cpu_components.py)")
    parser.add_argument("--redis", action="store_true",
                        help="Redis' own µs per redirect (its check included) by command and Lua script "
                             "(bench/redis_cost.py)")
    parser.add_argument("--json", metavar="PATH", help="also write the whole result (components included) as JSON")
    args = parser.parse_args()
    result = run(args.part, args.n, args.profile, args.components, args.redis)
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=1))
    tables = {key: result.pop(key) for key in ("web_components", "check_components") if key in result}
    commands = result.pop("redis_commands", None)
    print(json.dumps(result, ensure_ascii=False))
    for key, parts in tables.items():
        print(f"\n{key} (thread CPU ms per {'redirect' if key.startswith('web') else 'check'}, calls)")
        for label, part in parts.items():
            print(f"  {label:<44} {part['ms']:7.3f}  {part['calls']:g}")
    if commands is not None:
        print("\nredis_commands (Redis' own µs per redirect, its check included; calls)")
        for label, part in commands.items():
            calls = f"{part['calls']:g}" if part["calls"] else ""  # Redis' whole CPU is no command
            print(f"  {label:<44} {part['us']:7.1f}  {calls}".rstrip())
