"""`aiadmin resync --wait` never sits silent: each progress line carries rows and an ETA, and a quiet spell is
explained (YCLIENTS budget wait, a failed attempt and its retry, no free sync worker)."""
import json
import re
import time

from settings import RateLimit
from tests.unit.workers.support_rows import onboarded_salon
from tests.unit.workers.test_cli_sync import publish_when_enqueued, run
from workers import cli_sync, retry_state
from workers.sync_watch import Rows, duration, why_quiet
from workers.yclients.ratelimit import SlidingWindowLimiter


def test_rows_add_up_across_entities_and_the_eta_follows_the_observed_rate():
    now = [0.0]
    rows = Rows(clock=lambda: now[0])
    rows.update({"entity": "clients", "done": 100, "total": 1400})
    assert rows.suffix() == "  rows 100/1400"  # no rate yet, no made-up ETA
    now[0] = 10.0
    rows.update({"entity": "clients", "done": 600, "total": 1400})  # 50 rows/s
    assert rows.eta() == 16.0 and rows.suffix() == "  rows 600/1400  ETA 16 s"
    rows.update({"entity": "records", "done": 0, "total": 4000})
    assert rows.done == 600 and rows.total == 5400 and rows.suffix().endswith("ETA 1 min 36 s")


def test_durations_read_naturally():
    assert [duration(s) for s in (0.4, 40, 96, 3700)] == ["0 s", "40 s", "1 min 36 s", "1 h 01 min"]


def test_a_budget_wait_is_named_with_its_length(settings, redis_client):
    tight = settings.replace(yclients_rate_limit=RateLimit.parse("2/min"))
    limiter = SlidingWindowLimiter(redis_client, tight.yclients_rate_limit)
    limiter.try_acquire(), limiter.try_acquire()
    line = why_quiet(redis_client, tight, 962302)
    assert re.fullmatch(r"waiting for YCLIENTS budget, (5[5-9] s|1 min 00 s)", line), line


def test_a_failed_attempt_is_named_with_its_retry(settings, redis_client):
    now = time.time()
    redis_client.hset(retry_state.key(962302), "sync_salon", json.dumps(
        {"actor": "sync_salon", "attempt": 2, "max_attempts": 9, "error": "HTTPError: 500", "failed_at": now,
         "next_retry_at": now + 12, "gave_up": False}))
    assert why_quiet(redis_client, settings, 962302, now=now) == \
        "attempt 2 of 9 failed: HTTPError: 500; next retry in 12 s"


def test_no_free_sync_worker_is_named(settings, redis_client):
    from workers.broker import build_broker
    from workers.jobs import Jobs

    Jobs(build_broker(settings)).send("sync_salon", 1, "full")
    assert why_quiet(redis_client, settings, 962302).startswith("waiting for a sync worker: 1 message(s) in queue sync")


def test_resync_wait_explains_a_quiet_spell_then_shows_rows(database, settings, redis_client, capsys, monkeypatch):
    monkeypatch.setattr(cli_sync, "QUIET_AFTER", 0.3)
    onboarded_salon()
    tight = settings.replace(yclients_rate_limit=RateLimit.parse("2/min"))
    limiter = SlidingWindowLimiter(redis_client, tight.yclients_rate_limit)
    limiter.try_acquire(), limiter.try_acquire()

    publishers = []

    def later():
        time.sleep(1.0)  # a budget wait first: nothing arrives for a while
        publishers.append(publish_when_enqueued(redis_client, [{"status": "running", "entity": "clients", "done": 100,
                                                     "total": 200},
                                                    {"status": "done", "entity": "records", "done": 200,
                                                     "total": 200}]))

    import threading

    starter = threading.Thread(target=later, daemon=True)
    starter.start()
    code, out, _ = run(capsys, tight, "resync", "962302", "--wait", "--timeout", "20")
    starter.join(5)
    publishers[0].join(5)
    assert code == 0
    lines = out.splitlines()
    waits = [line for line in lines if line.startswith("waiting for ")]
    assert waits and (waits[0].startswith("waiting for YCLIENTS budget, ")
                      or waits[0].startswith("waiting for a sync worker"))  # the message waits on the queue too
    assert any("clients 100/200" in line and "rows 100/200" in line for line in lines)
    assert lines[-1] == "sync done"
