"""The detailed health answer tells what is wrong before salons do: each role's heartbeat, the gateway, queue lag
and oldest age per queue, YCLIENTS budget use, and alerts at the thresholds documented in docs/operations.md."""
from __future__ import annotations

import json
import time

import dramatiq
import pytest
import redis as redis_lib
from dramatiq import Worker

from runtime.gateway import probe as gateway_probe
from runtime.gateway.waha import WahaClient
from sandbox.whatsapp.core import SimCore
from tests.support import wait_for
from tests.fakes.gateway_sim import API_KEY, SimServer
from tests.fakes.web_app import make_app
from runtime import health_details, heartbeat
from runtime.broker import build_broker
from runtime.jobs import Jobs
from runtime.yclients.ratelimit import SlidingWindowLimiter
from runtime.settings import RateLimit


def _details(client, settings):
    response = client.get("/marketplace/health", headers={"Authorization": f"Bearer {settings.health_token}"})
    assert response.status_code == 200
    return response.get_json()


@pytest.fixture
def client(settings, database, redis_client):
    return make_app(settings, database, redis_client).test_client()


def test_the_public_answer_stays_minimal(client):
    assert set(client.get("/marketplace/health").get_json()) == {"status", "timestamp"}


def test_every_role_s_heartbeat_is_reported_and_a_silent_role_raises_an_alert(client, settings, redis_client):
    now = time.time()
    for role in ("web", "bridge", "sync", "clock"):
        heartbeat.beat(redis_client, role, "host:1", now - 5)
    heartbeat.beat(redis_client, "worker", "host:2", now - heartbeat.STALE_AFTER - 30)  # its process died
    body = _details(client, settings)
    assert body["roles"]["web"] == {"alive": 1, "last_beat_age_seconds": pytest.approx(5, abs=2), "status": "ok"}
    assert body["roles"]["worker"]["status"] == "down" and body["roles"]["worker"]["alive"] == 0
    assert any(alert.startswith("role worker has no live process") for alert in body["alerts"])
    assert not any("role web" in alert for alert in body["alerts"])


def test_a_role_that_never_reported_is_an_alert(client, settings):
    body = _details(client, settings)
    assert {f"role {role} has never reported" for role in heartbeat.ROLES} <= set(body["alerts"])


def test_the_beater_thread_beats_until_stopped(redis_client):
    beater = heartbeat.Beater(redis_client, "clock", interval=0.05).start()
    try:
        wait_for(lambda: heartbeat.read(redis_client)["clock"]["alive"] == 1, timeout=5, message="a beat")
    finally:
        beater.stop()


def test_a_dramatiq_worker_beats_as_sync_or_worker_by_its_queues(settings, redis_client):
    broker = build_broker(settings)
    broker.add_middleware(heartbeat.WorkerHeartbeat(redis_client))
    dramatiq.actor(lambda: None, broker=broker, actor_name="t_noop", queue_name="sync")
    worker = Worker(broker, queues={"sync"}, worker_timeout=50)
    worker.start()
    try:
        wait_for(lambda: heartbeat.read(redis_client)["sync"]["alive"] == 1, timeout=5, message="the sync beat")
        assert heartbeat.read(redis_client)["worker"]["alive"] == 0
    finally:
        worker.stop()
        broker.close()
    assert heartbeat.role_of_queues({"onboarding", "whatsapp"}) == "worker" and heartbeat.role_of_queues(None) == "worker"


def test_the_gateway_probe_tells_reachable_unreachable_and_unknown(settings, redis_client):
    sim = SimServer(SimCore())
    try:
        waha = WahaClient(sim.url, API_KEY, timeout=3)
        gateway_probe.probe(waha, redis_client)
        assert gateway_probe.read(redis_client)["status"] == "reachable"
        sim.core.faults["down"] = True  # the gateway answers 5xx
        gateway_probe.probe(waha, redis_client)
        down = gateway_probe.read(redis_client)
        assert down["status"] == "unreachable" and down["error"]
    finally:
        sim.close()
    gateway_probe.probe(WahaClient("http://127.0.0.1:9", API_KEY, timeout=1), redis_client)  # nothing listens
    assert gateway_probe.read(redis_client)["status"] == "unreachable"
    later = time.time() + gateway_probe.STALE_AFTER + 1  # the bridge stopped probing
    assert gateway_probe.read(redis_client, now=later)["status"] == "unknown"


def test_the_prober_asks_at_most_once_per_period(redis_client):
    calls = []

    class Gateway:
        def list_sessions(self):
            calls.append(1)
            return []

    now = [1000.0]
    prober = gateway_probe.Prober(Gateway(), redis_client, every=30, clock=lambda: now[0])
    for step in (0, 10, 10, 10, 1):
        now[0] += step
        prober()
    assert len(calls) == 2


def test_an_unreachable_gateway_is_an_alert_in_health(client, settings, redis_client):
    gateway_probe.probe(WahaClient("http://127.0.0.1:9", API_KEY, timeout=1), redis_client)
    body = _details(client, settings)
    assert body["gateway"]["status"] == "unreachable"
    assert any(alert.startswith("WhatsApp gateway unreachable") for alert in body["alerts"])


def test_queue_depth_oldest_age_and_lag_per_queue(settings, redis_client):
    jobs = Jobs(build_broker(settings))
    jobs.send("sync_salon", 1, "full")
    jobs.send("process_webhook", 7)
    later = time.time() + 120
    stats = health_details.queue_stats(redis_client, now=later)
    assert stats["sync"]["waiting"] == 1 and stats["webhooks"]["waiting"] == 1
    assert 119 <= stats["webhooks"]["lag_seconds"] <= 122 and 119 <= stats["webhooks"]["oldest_age_seconds"] <= 122
    assert stats["onboarding"] == {"waiting": 0, "delayed": 0, "dead": 0, "oldest_age_seconds": 0.0,
                                   "lag_seconds": 0.0}
    alerts = health_details.alerts_of({}, {"status": "reachable", "error": None}, stats, {})
    assert alerts == ["queue webhooks lags 120 s (threshold 60 s)"]  # sync has 900 s before it alerts


def test_a_retried_message_lags_from_its_eta_not_its_birth(settings, redis_client):
    broker = build_broker(settings)
    jobs = Jobs(broker)
    message = jobs.send("process_webhook", 7)
    # What Dramatiq does with a due retry: the message, with its eta, back on the ready queue.
    born = message.message_timestamp / 1000.0
    retried = message.copy(options={"eta": int((born + 600) * 1000), "redis_message_id": "r1"})
    redis_client.delete("dramatiq:webhooks", "dramatiq:webhooks.msgs")
    redis_client.hset("dramatiq:webhooks.msgs", "r1", retried.encode())
    redis_client.rpush("dramatiq:webhooks", "r1")
    stats = health_details.queue_stats(redis_client, queues=["webhooks"], now=born + 630)
    assert stats["webhooks"]["oldest_age_seconds"] == pytest.approx(630, abs=1)
    assert stats["webhooks"]["lag_seconds"] == pytest.approx(30, abs=1)


def test_yclients_budget_use_and_its_alert(client, settings, redis_client):
    budget = RateLimit.parse("5/s,200/min")
    limiter = SlidingWindowLimiter(redis_client, budget)
    for _ in range(5):
        assert limiter.try_acquire() == 0
    use = health_details.budget_use(redis_client, budget)
    assert use["windows"] == [{"limit": 5, "window_seconds": 1, "used": 5, "use_pct": 100.0},
                              {"limit": 200, "window_seconds": 60, "used": 5, "use_pct": 2.5}]
    assert 0 < use["wait_seconds"] <= 1
    body = _details(client, settings)  # the app's own budget (5/s,200/min in the test settings)
    assert body["yclients_budget"]["windows"][0]["used"] in (0, 5)  # the 1 s window may have moved on
    assert "YCLIENTS budget 5/5 per 1 s in use" in health_details.alerts_of({}, {"status": "reachable", "error": None},
                                                                          {}, use)


def test_details_survive_redis_being_down(settings, database):
    dead = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    body = health_details.details(dead, settings)
    assert body["alerts"] == ["health details incomplete: Redis or the database did not answer"]
    assert body["roles"] == {"unavailable": "ConnectionError"}


def _attempt(redis_client, salon_id, attempt, gave_up=False, error="HTTPError: 500"):
    from runtime import retry_state

    now = time.time()
    redis_client.hset(retry_state.key(salon_id), "sync_salon", json.dumps(
        {"actor": "sync_salon", "attempt": attempt, "max_attempts": 9, "error": error, "failed_at": now,
         "next_retry_at": None if gave_up else now + 60, "gave_up": gave_up}))
    redis_client.zadd(retry_state.INDEX, {str(salon_id): now})


def test_failing_jobs_across_salons_are_listed_and_persistent_ones_alert(client, settings, redis_client):
    _attempt(redis_client, 101, 1)  # a blip: listed, no alert
    _attempt(redis_client, 102, 3, error="ReadTimeout: 10 s")
    body = _details(client, settings)
    jobs = {job["salon_id"]: job for job in body["failing_jobs"]}
    assert set(jobs) == {101, 102}
    assert jobs[102]["attempt"] == 3 and jobs[102]["max_attempts"] == 9 and jobs[102]["next_retry_at"].endswith("Z")
    assert [a for a in body["alerts"] if a.startswith("salon ")] == [
        f"salon 102: sync_salon attempt 3 of 9 failed: ReadTimeout: 10 s; next retry {jobs[102]['next_retry_at']}"]


def test_a_failed_full_sync_is_listed_even_behind_a_newer_incremental(client, settings, database):
    import datetime

    from models.sync_run import SyncRun

    now = datetime.datetime.utcnow()
    SyncRun.create(salon_id=201, kind="full", status="failed", error="Traceback…\nSyncFailed: 403 no access",
                   started_at=now - datetime.timedelta(hours=2), finished_at=now - datetime.timedelta(hours=2))
    SyncRun.create(salon_id=201, kind="incremental", status="done", started_at=now - datetime.timedelta(hours=1))
    SyncRun.create(salon_id=202, kind="full", status="failed", error="old", started_at=now - datetime.timedelta(days=1))
    SyncRun.create(salon_id=202, kind="full", status="done", started_at=now - datetime.timedelta(hours=1))  # fixed
    body = _details(client, settings)
    assert [(s["salon_id"], s["error"]) for s in body["failed_full_syncs"]] == [(201, "SyncFailed: 403 no access")]
    assert any(a.startswith("salon 201: full sync failed at ") for a in body["alerts"])
