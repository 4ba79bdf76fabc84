"""The YCLIENTS sandbox with a fleet of extra small salons, for the onboarding benchmarks (50 and 200 salons).

`python -m bench.fleet_sandbox --port P --fleet N` serves the ordinary sandbox app after adding
salons FLEET_START+1 .. FLEET_START+N to its generated catalogue (the sandbox itself is not changed;
its callback and data API accept any salon in `sandbox.yclients.data.SALONS`). It also keeps a request
log, `GET /_bench/requests`: [time, method, path, salon_id, status] for every API/marketplace request that
reached it, from which bench/onboarding.py computes the floor the budget allows.
"""
from __future__ import annotations

import argparse
import os
import re
import threading
import time

FLEET_START = 880000
_SALON_IN_PATH = re.compile(r"/(\d{5,})(?:/|$)")


def fleet_ids(n: int) -> list[int]:
    return [FLEET_START + i for i in range(1, n + 1)]


def add_fleet(n: int) -> None:
    from sandbox.yclients import data

    for salon_id in fleet_ids(n):
        data.SALONS[salon_id] = data.SalonSpec(salon_id, f"Салон нагрузки №{salon_id - FLEET_START}", services=6,
                                               staff=2, clients=40, records=80)


def with_request_log(app):
    """Log every request to the YCLIENTS API/marketplace paths (admitted or answered 429) with its arrival time."""
    from flask import g, jsonify, request

    log, lock = [], threading.Lock()

    @app.before_request
    def arrived():  # runs after the sandbox's own rate limit hook unless that one answered already (429)
        g.bench_arrived = time.time()

    @app.after_request
    def note(response):
        path = request.path
        if path.startswith("/api/") or path.startswith("/marketplace/"):
            match = _SALON_IN_PATH.search(path)
            salon = int(match.group(1)) if match else None
            if salon is None and request.method == "POST":
                salon = (request.get_json(silent=True) or {}).get("salon_id")
            with lock:
                log.append([g.get("bench_arrived", time.time()), request.method, path, salon, response.status_code])
        return response

    @app.get("/_bench/requests")
    def requests_log():
        with lock:
            return jsonify(list(log))

    return app


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet_sandbox")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fleet", type=int, default=int(os.environ.get("BENCH_FLEET", "0")))
    args = parser.parse_args(argv)
    add_fleet(args.fleet)
    from sandbox.serve import main as serve
    from sandbox.yclients.app import create_app

    serve(lambda: with_request_log(create_app()), "yclients", args.port, ["serve", "--port", str(args.port)])


if __name__ == "__main__":
    main()
