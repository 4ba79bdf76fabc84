"""The clock: the right actors at the right times (injected time), once per slot across processes."""
import calendar
import datetime

import pytest

from tests.unit.workers.lifecycle_fakes import FakeJobs
from workers import registry
from workers.clock import SCHEDULE, Clock, Entry

MIDNIGHT = calendar.timegm(datetime.datetime(2026, 11, 27, 0, 0).timetuple())  # 03:00 Moscow


def sent_between(clock, start, end, step=1):
    actors = []
    for t in range(start, end, step):
        actors += clock.tick(t)
    return actors


def test_the_schedule_names_only_declared_actors():
    assert {e.actor for e in SCHEDULE} == {
        "sweep_webhook_deliveries", "schedule_incremental_syncs", "schedule_full_syncs",
        "reconcile_whatsapp_sessions", "expire_abandoned_onboardings", "reconcile_onboardings",
        "schedule_schedule_syncs", "schedule_company_refreshes"}
    assert {e.actor for e in SCHEDULE} <= set(registry.specs())


def test_one_day_of_ticks_enqueues_each_job_at_its_rate(redis_client):
    jobs = FakeJobs()
    clock = Clock(jobs, redis_client)
    clock.tick(MIDNIGHT - 1)  # a fresh clock runs the short jobs whose current slot is still open
    jobs.sent.clear()
    actors = sent_between(clock, MIDNIGHT, MIDNIGHT + 86400, step=5)
    counts = {a: actors.count(a) for a in set(actors)}
    assert counts == {"sweep_webhook_deliveries": 1440, "reconcile_onboardings": 1440, "reconcile_whatsapp_sessions": 288,
                      "schedule_incremental_syncs": 96, "expire_abandoned_onboardings": 24,
                      "schedule_full_syncs": 1, "schedule_schedule_syncs": 24, "schedule_company_refreshes": 1}
    assert [a for a, _, _ in jobs.sent] == actors


def test_the_nightly_full_sync_runs_at_midnight_utc_and_not_before(redis_client):
    clock = Clock(FakeJobs(), redis_client, (Entry("full", "schedule_full_syncs", every=86400, grace=7200),))
    assert sent_between(clock, MIDNIGHT - 600, MIDNIGHT) == []
    assert clock.tick(MIDNIGHT) == ["schedule_full_syncs"]
    assert sent_between(clock, MIDNIGHT + 1, MIDNIGHT + 3 * 3600, step=60) == []


def test_a_clock_started_late_in_the_grace_window_catches_up_once(redis_client):
    entry = Entry("full", "schedule_full_syncs", every=86400, grace=7200)
    assert Clock(FakeJobs(), redis_client, (entry,)).tick(MIDNIGHT + 3600) == ["schedule_full_syncs"]
    # A restarted clock in the same slot does not repeat it.
    assert Clock(FakeJobs(), redis_client, (entry,)).tick(MIDNIGHT + 3700) == []


def test_a_clock_started_after_the_grace_window_waits_for_the_next_night(redis_client):
    entry = Entry("full", "schedule_full_syncs", every=86400, grace=7200)
    clock = Clock(FakeJobs(), redis_client, (entry,))
    assert sent_between(clock, MIDNIGHT + 15 * 3600, MIDNIGHT + 86400, step=600) == []
    assert clock.tick(MIDNIGHT + 86400) == ["schedule_full_syncs"]


def test_two_clock_processes_never_double_enqueue(redis_client):
    span = range(MIDNIGHT - 30, MIDNIGHT + 3600)
    alone = FakeJobs()
    single = Clock(alone, redis_client, owner="alone")
    for t in span:
        single.tick(t)
    redis_client.flushdb()
    a_jobs, b_jobs = FakeJobs(), FakeJobs()
    a = Clock(a_jobs, redis_client, owner="a")
    b = Clock(b_jobs, redis_client, owner="b")
    for t in span:
        a.tick(t)
        b.tick(t)
    together = sorted(x for x, _, _ in a_jobs.sent + b_jobs.sent)
    assert together == sorted(x for x, _, _ in alone.sent)
    assert together.count("sweep_webhook_deliveries") == 61 and together.count("schedule_full_syncs") == 1


def test_a_failed_enqueue_releases_the_slot_for_the_next_tick(redis_client):
    class FlakyJobs(FakeJobs):
        fail = True

        def send(self, actor_name, *args, **kwargs):
            if self.fail:
                self.fail = False
                raise ConnectionError("broker down")
            super().send(actor_name, *args, **kwargs)

    jobs = FlakyJobs()
    clock = Clock(jobs, redis_client, (Entry("sweep", "sweep_webhook_deliveries", every=60),))
    with pytest.raises(ConnectionError):
        clock.tick(MIDNIGHT)
    assert clock.tick(MIDNIGHT + 1) == ["sweep_webhook_deliveries"]


def test_run_survives_a_failing_tick_and_stops_on_request(redis_client):
    import threading

    ticks = []
    stop = threading.Event()

    class Boom(Clock):
        def tick(self, now=None):
            ticks.append(now)
            if len(ticks) == 1:
                raise ConnectionError("redis blip")
            stop.set()
            return []

    Boom(FakeJobs(), redis_client).run(stop, interval=0)
    assert len(ticks) == 2
