"""The redirect's side of the install check under load: one Redis call to start a check, a blocking wait that
wakes the moment the worker writes the verdict (no polling), every waiter woken, limits all or none."""
from __future__ import annotations

import threading

import pytest
import redis as redis_lib

from models import install_check as ic
from models.live import LiveStatus
from tests.fakes.onboarding import RecordingJobs
from tests.support import container_for
from web import create_app
from web.marketplace import verification

CONFIRMED = ic.Verdict(ic.CONFIRMED, branches=[{"salon_id": 962302, "status": "pending", "title": None}],
                       checked_at=1.0)


class CountingRedis(redis_lib.Redis):
    """A real client that counts the commands (round trips) it sends."""

    commands: list

    def execute_command(self, *args, **options):
        self.commands.append(args[0])
        return super().execute_command(*args, **options)


@pytest.fixture
def counting_redis(redis_url):
    client = CountingRedis.from_url(redis_url)
    client.commands = []
    yield client
    client.close()


@pytest.fixture
def app(settings, database, counting_redis):
    jobs = RecordingJobs(database, answer_checks=False)  # nobody answers unless the test does
    return create_app(settings, container=container_for(settings=settings, database=database, redis=counting_redis,
                                                         jobs=jobs, live=LiveStatus(counting_redis)))


def obtain(app, check="c1", salon_ids=(962302,), sign="sig", ip="10.0.0.1", **kwargs):
    with app.test_request_context():
        return verification.obtain(check, list(salon_ids), "Салон", sign, ip, **kwargs)


def answer_later(redis_url, check, verdict=CONFIRMED, after=0.3):
    def write():
        client = redis_lib.Redis.from_url(redis_url)
        threading.Event().wait(after)
        ic.write_verdict(client, check, verdict)
        client.close()

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def no_polling(_seconds):
    raise AssertionError("the redirect polled for the verdict")


def test_the_waiting_redirect_gets_the_verdict_the_moment_it_is_written_without_polling(app, redis_url, monkeypatch):
    monkeypatch.setattr(verification, "WAIT_SECONDS", 30.0)
    writer = answer_later(redis_url, "c1")
    outcome = obtain(app, sleep=no_polling)
    writer.join()
    assert outcome.verdict == CONFIRMED and not outcome.checking


def test_every_redirect_waiting_on_the_same_check_wakes_up(app, redis_url, monkeypatch):
    monkeypatch.setattr(verification, "WAIT_SECONDS", 30.0)
    outcomes = []
    waiters = [threading.Thread(target=lambda: outcomes.append(obtain(app, sleep=no_polling))) for _ in range(3)]
    for waiter in waiters:
        waiter.start()
    answer_later(redis_url, "c1", after=0.5).join()
    for waiter in waiters:
        waiter.join(30)
    assert [o.verdict for o in outcomes] == [CONFIRMED] * 3
    # And a press after the verdict gets it at once, from the cache.
    assert obtain(app, sleep=no_polling).verdict == CONFIRMED


def test_starting_a_check_is_one_redis_round_trip_before_the_enqueue(app, counting_redis, monkeypatch):
    monkeypatch.setattr(verification, "WAIT_SECONDS", 0.0)  # measure the start only
    jobs = app.extensions["aiadmin"].jobs
    before_enqueue = []
    enqueue = jobs.send_with_options
    monkeypatch.setattr(jobs, "send_with_options",
                        lambda *a, **k: (before_enqueue.extend(counting_redis.commands), enqueue(*a, **k))[1])
    counting_redis.commands.clear()
    outcome = obtain(app)
    assert outcome.checking and len(jobs.checks) == 1
    # Cached verdict, pending request, both limits and storing the request: one script call.
    assert before_enqueue == ["EVALSHA"]


def test_a_check_refused_by_one_limit_uses_up_no_other(app, counting_redis, monkeypatch):
    monkeypatch.setattr(verification, "WAIT_SECONDS", 0.0)
    monkeypatch.setattr(verification, "CHECK_LIMITS", (("check:ip:{ip}", 10, 600), ("check:sign:{sign}", 5, 600)))
    assert obtain(app, check="a", salon_ids=(1, 2, 3), sign="s1").checking  # 3 of the signature's 5
    refused = obtain(app, check="b", salon_ids=(4, 5, 6), sign="s1")  # 6 > 5: refused
    assert refused.limited > 0
    # The address still has 7 of its 10 branches: the refused request did not count against it.
    assert obtain(app, check="c", salon_ids=tuple(range(10, 15)), sign="s2").checking
    assert obtain(app, check="d", salon_ids=(20, 21, 22), sign="s3").limited > 0  # 3 + 5 + 3 > 10


def test_past_the_blocking_wait_cap_the_redirect_polls_and_still_gets_the_verdict(app, redis_url, monkeypatch):
    monkeypatch.setattr(verification, "WAIT_SECONDS", 30.0)
    monkeypatch.setattr(verification, "_BLOCKING", threading.BoundedSemaphore(1))
    verification._BLOCKING.acquire()  # another redirect of this process holds the only blocking slot
    sleeps = []
    writer = answer_later(redis_url, "c1")
    outcome = obtain(app, sleep=lambda s: (sleeps.append(s), threading.Event().wait(s)))
    writer.join()
    assert outcome.verdict == CONFIRMED and sleeps  # it polled


def test_the_wait_never_outlasts_the_redis_clients_socket_timeout(redis_url):
    client = redis_lib.Redis.from_url(redis_url, socket_timeout=1.0)
    try:
        assert ic.wait_verdict(client, "nobody-answers", timeout=5) is None  # not a TimeoutError
    finally:
        client.close()


def test_on_a_redis_broker_the_check_is_enqueued_by_the_gates_own_script(settings, database, counting_redis,
                                                                            monkeypatch):
    """One round trip starts the check AND enqueues `verify_install` (was: the gate's script, then Dramatiq's
    dispatch script); a press that finds the check pending enqueues nothing more. The message is what a real
    consumer fetches, on the interactive queue."""
    from runtime.broker import build_broker
    from runtime.jobs import Jobs

    monkeypatch.setattr(verification, "WAIT_SECONDS", 0.0)
    broker = build_broker(settings)
    broker.client = counting_redis  # the app's Redis, counted
    app = create_app(settings, container=container_for(settings=settings, database=database, redis=counting_redis,
                                                       jobs=Jobs(broker), live=LiveStatus(counting_redis)))
    enqueued = []
    monkeypatch.setattr(broker, "enqueue", lambda *a, **k: enqueued.append(a))  # Dramatiq's own enqueue: unused
    counting_redis.commands.clear()
    assert obtain(app, check="c1").checking
    assert counting_redis.commands[:1] == ["EVALSHA"] and "EVALSHA" not in counting_redis.commands[1:]
    assert obtain(app, check="c1").checking  # pending: the same check, not enqueued again
    assert obtain(app, check="c2", salon_ids=(962303,)).checking
    assert not enqueued
    consumer = broker.consume("interactive", prefetch=5, timeout=500)
    messages = [next(consumer), next(consumer), next(consumer)]
    assert [(m.actor_name, m.args) for m in messages[:2]] == [("verify_install", ("c1",)), ("verify_install", ("c2",))]
    assert messages[2] is None  # nothing else on the queue
    for message in messages[:2]:
        consumer.ack(message)
    consumer.close()
    broker.close()
