"""The YCLIENTS sandbox with a fleet of extra small salons, for the onboarding benchmarks (50 and 200 salons).

`python -m bench.fleet_sandbox --port P --fleet N` serves the ordinary sandbox app after adding
salons FLEET_START+1 .. FLEET_START+N to its generated catalogue (the sandbox itself is not changed;
its callback and data API accept any salon in `sandbox.yclients.data.SALONS`).
"""
from __future__ import annotations

import argparse
import os

FLEET_START = 880000


def fleet_ids(n: int) -> list[int]:
    return [FLEET_START + i for i in range(1, n + 1)]


def add_fleet(n: int) -> None:
    from sandbox.yclients import data

    for salon_id in fleet_ids(n):
        data.SALONS[salon_id] = data.SalonSpec(salon_id, f"Салон нагрузки №{salon_id - FLEET_START}", services=6,
                                               staff=2, clients=40, records=80)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet_sandbox")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fleet", type=int, default=int(os.environ.get("BENCH_FLEET", "0")))
    args = parser.parse_args(argv)
    add_fleet(args.fleet)
    from sandbox.serve import main as serve
    from sandbox.yclients.app import create_app

    serve(create_app, "yclients", args.port, ["serve", "--port", str(args.port)])


if __name__ == "__main__":
    main()
