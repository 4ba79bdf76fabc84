"""A failing job is visible to support at once: each failed attempt (k of n), its error and the next retry time
are recorded per salon by middleware on a real Redis broker and worker; a success clears them; `aiadmin status`
shows them, and shows a failed full sync even when a newer incremental sync exists."""
from __future__ import annotations

import datetime
import json

import dramatiq
import pytest
from dramatiq import Worker

from models.sync_run import SyncRun
from tests.support import wait_for
from tests.unit.workers.support_rows import T0, onboarded_salon
from workers import retry_state
from workers.broker import build_broker
from workers.cli import main


@pytest.fixture
def broker(settings, database):
    broker = build_broker(settings, database)
    yield broker
    broker.close()


def _worker(broker):
    worker = Worker(broker, worker_timeout=50, worker_threads=1)
    worker.start()
    return worker


def test_a_failed_attempt_records_attempt_k_of_n_the_error_and_the_next_retry(broker, redis_client):
    @dramatiq.actor(broker=broker, queue_name="t_retry", actor_name="t_failing", max_retries=3, min_backoff=60_000,
                    max_backoff=60_000)
    def failing(salon_id):
        raise RuntimeError("YCLIENTS answered 500 on /api/v1/clients")

    worker = _worker(broker)
    try:
        failing.send(42)
        [entry] = wait_for(lambda: retry_state.read(redis_client, 42), timeout=10, message="a retry entry")
    finally:
        worker.stop()
    assert entry["actor"] == "t_failing" and entry["attempt"] == 1 and entry["max_attempts"] == 4
    assert entry["error"] == "RuntimeError: YCLIENTS answered 500 on /api/v1/clients"
    assert 30 <= entry["next_retry_at"] - entry["failed_at"] <= 60  # Retries' own backoff (with jitter)
    assert entry["gave_up"] is False
    assert 0 < redis_client.ttl(retry_state.key(42)) <= retry_state.TTL
    assert [e["salon_id"] for e in retry_state.recent(redis_client)] == [42]


def test_the_last_attempt_says_no_retry_is_left(broker, redis_client):
    @dramatiq.actor(broker=broker, queue_name="t_retry", actor_name="t_hopeless", max_retries=1, min_backoff=10,
                    max_backoff=10)
    def hopeless(salon_id):
        raise ConnectionError("gateway unreachable")

    worker = _worker(broker)
    try:
        hopeless.send(43)
        entry = wait_for(lambda: [e for e in retry_state.read(redis_client, 43) if e["gave_up"]], timeout=15,
                         message="the final attempt")[0]
    finally:
        worker.stop()
    assert entry["attempt"] == 2 and entry["max_attempts"] == 2 and entry["next_retry_at"] is None


def test_a_successful_run_clears_the_record(broker, redis_client):
    @dramatiq.actor(broker=broker, queue_name="t_retry", actor_name="t_flaky", max_retries=3, min_backoff=10,
                    max_backoff=10)
    def flaky(salon_id):
        if redis_client.incr("t_flaky_calls") == 1:
            raise TimeoutError("read timed out")

    worker = _worker(broker)
    try:
        flaky.send(44)
        wait_for(lambda: redis_client.get("t_flaky_calls") == b"2", timeout=15, message="the retry")
        wait_for(lambda: not retry_state.read(redis_client, 44), timeout=5, message="the record cleared")
        assert redis_client.zscore(retry_state.INDEX, "44") is None  # and health no longer lists the salon
    finally:
        worker.stop()


def test_the_recorded_error_is_one_redacted_line():
    error = retry_state.describe(RuntimeError("send to 79001234567 failed\nBearer abcdefgh12345678 refused"))
    assert error == "RuntimeError: Bearer [redacted] refused"
    assert "79001234567" not in retry_state.describe(ValueError("chat 79001234567@c.us not found"))
    assert len(retry_state.describe(ValueError("x" * 1000))) == retry_state.ERROR_CHARS


def test_jobs_without_a_salon_are_not_recorded(broker, redis_client):
    @dramatiq.actor(broker=broker, queue_name="t_retry", actor_name="t_global", max_retries=0)
    def global_job(token):
        raise RuntimeError("boom")

    worker = _worker(broker)
    try:
        global_job.send("abc")
        broker.join("t_retry", timeout=10_000)
    finally:
        worker.stop()
    assert not redis_client.keys("aiadmin:support:retries:*")


def run(capsys, settings, *argv):
    code = main(list(argv), settings=settings)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _record(redis_client, salon_id, **entry):
    redis_client.hset(retry_state.key(salon_id), entry["actor"], json.dumps(entry))


def test_status_shows_the_running_sync_s_last_error_attempt_and_next_retry(database, settings, redis_client, capsys):
    onboarded_salon()
    SyncRun.create(salon_id=962302, kind="full", status="running", started_at=T0 + datetime.timedelta(hours=1))
    failed_at = (T0 + datetime.timedelta(hours=1, minutes=1)).replace(tzinfo=datetime.timezone.utc).timestamp()
    _record(redis_client, 962302, actor="sync_salon", attempt=3, max_attempts=9, error="HTTPError: 500 Server Error",
            failed_at=failed_at, next_retry_at=failed_at + 40, gave_up=False, message_id="m")
    code, out, err = run(capsys, settings, "status", "962302", "--json")
    report = json.loads(out)
    assert report["last_sync"]["status"] == "running"
    assert report["last_error"] == "sync_salon attempt 3 of 9: HTTPError: 500 Server Error"
    assert report["last_error_at"] == "2026-11-27T11:01:00Z" and report["next_retry_at"] == "2026-11-27T11:01:40Z"
    assert report["retries"] == [{"actor": "sync_salon", "attempt": 3, "max_attempts": 9,
                                  "error": "HTTPError: 500 Server Error", "failed_at": "2026-11-27T11:01:00Z",
                                  "next_retry_at": "2026-11-27T11:01:40Z", "gave_up": False}]
    code, text, _ = run(capsys, settings, "status", "962302")
    assert "sync_salon:     attempt 3 of 9 failed at 2026-11-27T11:01:00Z: HTTPError: 500 Server Error" in text
    assert "next retry:     2026-11-27T11:01:40Z" in text


def test_a_failed_full_sync_stays_visible_behind_a_newer_incremental(database, settings, capsys):
    onboarded_salon()
    SyncRun.create(salon_id=962302, kind="full", status="failed", error="Traceback…\nSyncFailed: 403 no access",
                   started_at=T0 + datetime.timedelta(hours=1), finished_at=T0 + datetime.timedelta(hours=1, minutes=2))
    SyncRun.create(salon_id=962302, kind="incremental", status="done", started_at=T0 + datetime.timedelta(hours=2),
                   finished_at=T0 + datetime.timedelta(hours=2, seconds=3))
    code, out, _ = run(capsys, settings, "status", "962302", "--json")
    report = json.loads(out)
    assert report["last_sync"]["kind"] == "incremental" and report["last_sync"]["status"] == "done"
    assert report["last_full_sync"]["status"] == "failed" and report["last_full_sync"]["error"] == "SyncFailed: 403 no access"
    assert report["last_error"] == "full sync: SyncFailed: 403 no access"
    assert report["next_retry_at"] is None
    code, text, _ = run(capsys, settings, "status", "962302")
    assert "last full sync: failed started 2026-11-27T11:00:00Z: SyncFailed: 403 no access" in text


def test_a_healthy_salon_has_no_last_error(database, settings, capsys):
    onboarded_salon()
    report = json.loads(run(capsys, settings, "status", "962302", "--json")[1])
    assert report["last_error"] is None and report["next_retry_at"] is None and report["retries"] == []
