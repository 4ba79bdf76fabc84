"""Benchmark 7: time from SIGKILL of a worker mid-job to the job running again (target <= 60 s)."""
from __future__ import annotations

import time
import uuid

import redis as redis_lib

from bench.stack import stack
from tests.support import wait_for
from runtime.broker import build_broker
from runtime.jobs import Jobs


def one_run() -> float:
    with stack() as s:
        client = redis_lib.Redis.from_url(s.settings.redis_url)
        jobs = Jobs(build_broker(s.settings))
        s.start_worker("worker-a", threads=2, queues=("diagnostics",))
        token = uuid.uuid4().hex
        key = f"aiadmin:hold:{token}"
        jobs.send("hold", token, 20.0)
        wait_for(lambda: client.llen(key) >= 1, timeout=60, message="first start")
        time.sleep(0.5)
        killed_at = time.time()
        s.kill("worker-a")
        s.start_worker("worker-b", threads=2, queues=("diagnostics",))
        wait_for(lambda: client.llen(key) >= 2, timeout=300, interval=0.1, message="redelivery")
        return float(client.lindex(key, 1)) - killed_at


def run(repeats: int = 3) -> list[dict]:
    samples = [one_run() for _ in range(repeats)]
    median = sorted(samples)[len(samples) // 2]
    return [{"benchmark": f"7. crash recovery (SIGKILL mid-job -> job running again), {repeats} runs",
             "p50": median, "p99": max(samples), "unit": "s (p99 col = max)",
             "value": "samples " + ", ".join(f"{x:.1f}" for x in samples) + " s", "samples": samples,
             "target": "<= 60 s", "ok": max(samples) <= 60}]


if __name__ == "__main__":
    for row in run(1):
        print(row)
