"""Failure re-queue end to end: a real worker, real Redis, the real `aiadmin` command line.

A purpose-made actor (`fail_until`) fails while a Redis flag is set; it lands in the failures table
and the broker's dead letters; `aiadmin requeue` sends it again and it completes (or fails visibly).
"""
import json
import subprocess
import time
import uuid

import pytest

from models.failure import Failure
from models.salon import Salon
from tests.support import BIN, ROOT, settings_env, wait_for
from runtime.broker import build_broker
from runtime.jobs import Jobs

pytestmark = pytest.mark.integration


def start_worker(services, settings, queues=("diagnostics",)):
    argv = [str(BIN / "dramatiq"), "workers.main", "--skip-logging", "--processes", "1", "--threads", "2",
            "--queues", *queues]
    return services("worker", argv, settings, env={"dramatiq_worker_timeout": "100"})


def aiadmin(settings, *argv):
    env = {**settings_env(settings), "PATH": str(BIN)}
    return subprocess.run([str(BIN / "aiadmin"), *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


def failed_json(settings, *extra):
    result = aiadmin(settings, "failed", "--json", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_failed_job_is_listed_requeued_and_completes(services, settings, database, redis_client):
    Salon.create(salon_id=4242, state="active")
    key = uuid.uuid4().hex
    redis_client.set(f"aiadmin:fail:{key}", 1)
    worker = start_worker(services, settings)
    Jobs(build_broker(settings)).send("fail_until", key, salon_id=4242)

    rows = wait_for(lambda: failed_json(settings, "--salon", "4242"), timeout=30, interval=0.2,
                    message=f"the failure to be recorded\n{worker.log()[-3000:]}")
    [row] = rows
    assert row["actor"] == "fail_until" and row["salon_id"] == 4242 and row["status"] == "open"
    assert row["attempts"] == 2  # max_retries=1: the first run and one retry
    assert "diagnostic failure" in row["error"]
    wait_for(lambda: redis_client.zcard("dramatiq:diagnostics.XQ") == 1, timeout=10, message="the dead letter")

    redis_client.delete(f"aiadmin:fail:{key}")  # "fix" the cause
    result = aiadmin(settings, "requeue", str(row["id"]))
    assert result.returncode == 0, result.stderr
    assert f"re-queued failure {row['id']} (fail_until)" in result.stdout
    wait_for(lambda: redis_client.llen(f"aiadmin:fail_until:{key}:done") == 1, timeout=20,
             message=f"the re-queued job to complete\n{worker.log()[-3000:]}")
    assert redis_client.zcard("dramatiq:diagnostics.XQ") == 0  # no dead letter left behind
    wait_for(lambda: Failure.get_by_id(row["id"]).status == "resolved", timeout=10, message="resolved")
    assert failed_json(settings) == []  # nothing open or pending any more
    status = json.loads(aiadmin(settings, "status", "4242", "--json").stdout)
    assert status["open_failures"] == 0


def test_a_requeued_job_that_fails_again_is_visible_with_fresh_retries(services, settings, database, redis_client):
    key = uuid.uuid4().hex
    redis_client.set(f"aiadmin:fail:{key}", 1)
    worker = start_worker(services, settings)
    Jobs(build_broker(settings)).send("fail_until", key)
    [first] = wait_for(lambda: failed_json(settings), timeout=30, interval=0.2,
                       message=f"first failure\n{worker.log()[-3000:]}")
    started = redis_client.llen(f"aiadmin:fail_until:{key}:attempts")
    assert started == 2

    assert aiadmin(settings, "requeue", "--all").returncode == 0
    rows = wait_for(lambda: [r for r in failed_json(settings) if r["id"] != first["id"]], timeout=30, interval=0.2,
                    message=f"the second failure\n{worker.log()[-3000:]}")
    [second] = rows
    # Retries were reset: the copy ran twice again (2 + 2 runs), and says which failure it repeats.
    assert redis_client.llen(f"aiadmin:fail_until:{key}:attempts") == 4
    assert second["attempts"] == 2 and second["requeued_from"] == first["id"] and second["status"] == "open"
    old = Failure.get_by_id(first["id"])
    assert old.status == "requeued" and old.requeue_count == 1


def test_ping_reports_the_pickup_latency(services, settings, database):
    worker = start_worker(services, settings)
    deadline = time.monotonic() + 30
    while True:  # the worker needs a moment to boot
        result = aiadmin(settings, "ping", "--timeout", "2", "--json")
        if result.returncode == 0 or time.monotonic() > deadline:
            break
    assert result.returncode == 0, (result.stderr, worker.log()[-2000:])
    assert json.loads(result.stdout)["status"] == "ok"
