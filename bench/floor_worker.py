"""The floor's worker (bench/floor_app.py): `dramatiq bench.floor_worker:setup`. One actor, `floor_check`: the
install check's two YCLIENTS calls against the sandbox (application status, then the company), made with a
urllib3 pool as runtime/yclients/transport.py makes them, and the answer pushed to the web's reply list."""
from __future__ import annotations

import json
import os

import dramatiq
import redis
import urllib3
from dramatiq.brokers.redis import RedisBroker

from bench.baseline_app import bare_verdict, yclients_target
from bench.floor_app import QUEUE


def setup() -> None:
    """Dramatiq's CLI calls this to get the broker (and the actor declared on it)."""
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    broker = RedisBroker(client=client)
    dramatiq.set_broker(broker)
    api, app_id, headers = yclients_target()
    http = urllib3.PoolManager(maxsize=16)

    def get(path: str) -> tuple[int, dict]:
        answer = http.request("GET", api + path, headers=headers, timeout=10.0)
        return answer.status, json.loads(answer.data or b"{}")

    @dramatiq.actor(queue_name=QUEUE, actor_name="floor_check", max_retries=0)
    def floor_check(salon: int, reply: str) -> None:
        verdict = bare_verdict(get, app_id, salon)
        with client.pipeline() as pipe:
            pipe.rpush(reply, verdict)
            pipe.expire(reply, 60)
            pipe.execute()
