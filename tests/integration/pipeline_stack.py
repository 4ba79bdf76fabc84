"""Real processes for the pipeline tests: the YCLIENTS sandbox over HTTP and Dramatiq worker processes."""
from __future__ import annotations

import requests

from tests.support import BIN, free_port
from runtime.broker import build_broker
from runtime.jobs import Jobs
from runtime.settings import RateLimit


class Stack:
    def __init__(self, services, settings, rate_limit="50/s,1000/min"):
        self.services = services
        port = free_port()
        self.sandbox_url = f"http://127.0.0.1:{port}"
        self.settings = settings.replace(yclients_api_url=self.sandbox_url,
                                         yclients_rate_limit=RateLimit.parse(rate_limit))
        self.sandbox = services("yclients-sandbox", [str(BIN / "python"), "-m", "sandbox.yclients", "serve",
                                                     "--port", str(port)], self.settings)
        self.sandbox.wait_http(f"{self.sandbox_url}/healthz")
        self.jobs = Jobs(build_broker(self.settings))
        self.workers = []

    def worker(self, name="worker", queues=("onboarding", "sync"), threads=2):
        argv = [str(BIN / "dramatiq"), "workers.main", "--skip-logging", "--processes", "1", "--threads",
                str(threads), "--queues", *queues]
        env = {"dramatiq_worker_timeout": "100", "dramatiq_queue_prefetch": "1"}
        worker = self.services(f"{name}-{len(self.workers)}", argv, self.settings, env=env)
        self.workers.append(worker)
        return worker

    def logs(self) -> str:
        return "\n".join(f"--- {w.name}\n{w.log()[-3000:]}" for w in self.workers) + \
            f"\n--- sandbox\n{self.sandbox.log()[-2000:]}"

    def faults(self, **knobs):
        requests.post(f"{self.sandbox_url}/_sandbox/faults", json=knobs, timeout=5).raise_for_status()

    def installs(self) -> dict:
        return requests.get(f"{self.sandbox_url}/_sandbox/installs", timeout=5).json()

    def stats(self) -> dict:
        return requests.get(f"{self.sandbox_url}/_sandbox/stats", timeout=5).json()

    def digest(self, salon_id, start, end) -> dict:
        return requests.get(f"{self.sandbox_url}/_sandbox/salons/{salon_id}/digest",
                            params={"start_date": start, "end_date": end}, timeout=30).json()

