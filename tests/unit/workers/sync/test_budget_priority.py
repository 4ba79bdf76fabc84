"""Syncs never hold a worker thread while they wait for YCLIENTS budget, and an owner's call goes first.

A real Dramatiq worker with ONE thread on a StubBroker with our middleware, real Redis (the shared limiter's
Lua script) and database; YCLIENTS is StubYclients behind the real limiter (tests/fakes/budget.py), the
background API for syncs and the interactive one for onboarding, as the worker's container has them."""
import time

import pytest
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker

from models import salon as S
from models.live import LiveStatus
from models.salon import Salon
from models.sync_run import DONE, RUNNING, SyncRun
from runtime.broker import build_middleware
from runtime.jobs import Jobs
from runtime.yclients.stub import StubYclients
from tests.fakes.budget import budgeted_pair, fill_log, interactive_waiting
from tests.support import container_for
from workers import process, registry
from workers.sync.budget_wait import waiting_of

BUDGET = "5/s,20/min"  # background's share: 4/s and 17/min


class RecordingJobs(Jobs):
    """Real enqueues, each also noted as (job, args, delay_ms)."""

    def __init__(self, broker):
        super().__init__(broker)
        self.sent = []

    def send_with_options(self, job, *, args=(), kwargs=None, delay_ms=None, **options):
        self.sent.append((job, tuple(args), delay_ms))
        return super().send_with_options(job, args=args, kwargs=kwargs, delay_ms=delay_ms, **options)


def small_salon(stub, salon_id):
    stub.load(salon_id, company={"id": salon_id, "title": f"Салон {salon_id}", "timezone_name": "Europe/Moscow"},
              service_categories=[], services=[], staff=[],
              clients=[{"id": salon_id * 10 + i, "name": f"c{i}", "phone": ""} for i in range(3)], records=[])


@pytest.fixture
def stack(settings, database, redis_client):
    previous = process._current
    live = LiveStatus(redis_client)
    broker = StubBroker(middleware=build_middleware(database, live))
    registry.declare(broker, diagnostics=True)
    stub = StubYclients()
    background, interactive, admitted = budgeted_pair(stub, redis_client, BUDGET)
    jobs = RecordingJobs(broker)
    process.install(container_for(settings.__class__(**{**settings.__dict__, "yclients_rate_limit":
                                                        settings.yclients_rate_limit.parse(BUDGET)}),
                                  database, redis_client, "worker", broker=broker, jobs=jobs, live=live,
                                  yclients=background, yclients_priority=interactive,
                                  yclients_interactive=interactive))
    worker = Worker(broker, queues={"sync", "onboarding", "diagnostics"}, worker_timeout=50, worker_threads=1)
    worker.start()
    yield {"broker": broker, "stub": stub, "admitted": admitted, "jobs": jobs, "redis": redis_client}
    worker.stop()
    process._current = previous


def wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_sync_waiting_for_budget_frees_its_thread_and_later_finishes_its_run_once(stack, redis_client):
    Salon.create(salon_id=962302, state=S.ACTIVE, activated_at=S.utcnow(), title="x")
    small_salon(stack["stub"], 962302)
    interactive_waiting(redis_client, 4000)  # an owner elsewhere waits for budget: background must step aside
    stack["broker"].get_actor("sync_salon").send(962302, "full")
    stack["broker"].get_actor("ping").send("after-sync", time.time())
    # The one thread runs the ping while the sync waits: the sync gave its thread back.
    assert wait_for(lambda: redis_client.llen("aiadmin:ping:after-sync") == 1)
    assert not SyncRun.select().where(SyncRun.status == DONE).exists()
    resent = [(args, delay) for job, args, delay in stack["jobs"].sent if job == "sync_salon"]
    run = SyncRun.get()
    assert resent and resent[0][0] == (962302, "full", run.id) and resent[0][1] >= 1000  # the same run, delayed
    assert run.status == RUNNING
    assert waiting_of(redis_client, 962302)["what"] == "full"  # `aiadmin status` tells the truth
    assert stack["admitted"] == []  # nothing was sent to YCLIENTS while it waited
    # When the budget is free again the re-enqueued message resumes the same run and finishes it, once.
    assert wait_for(lambda: SyncRun.get_by_id(run.id).status == DONE)
    assert SyncRun.select().count() == 1
    assert waiting_of(redis_client, 962302) is None
    assert [m for m in stack["stub"].calls if m[0] == "clients"] == [("clients", 962302)]


def test_an_activation_behind_20_waiting_syncs_is_served_first(stack, redis_client):
    syncs = list(range(880001, 880021))
    for salon_id in syncs:
        Salon.create(salon_id=salon_id, state=S.ACTIVE, activated_at=S.utcnow(), title="x")
        small_salon(stack["stub"], salon_id)
    Salon.create(salon_id=962302, state=S.WHATSAPP_CONNECTED, whatsapp_phone="79001234567", title="KULTURA")
    stack["stub"].press_connect(962302)
    fill_log(redis_client, 17)  # budget is scarce: background's share of the minute is used up
    for salon_id in syncs:
        stack["broker"].get_actor("sync_salon").send(salon_id, "full")
    stack["broker"].get_actor("activate_integration").send(962302)
    assert wait_for(lambda: Salon.get_by_id(962302).state == S.ACTIVE)
    assert stack["admitted"][0] == ("interactive", "activation_callback", 962302)
    assert all(label == "interactive" for label, _, _ in stack["admitted"])  # no sync call got in before it
    # Every sync gave its thread back to wait with a delay (none burnt a retry, none is done).
    assert wait_for(lambda: set(syncs) <= {args[0] for job, args, delay in stack["jobs"].sent
                                           if job == "sync_salon" and delay})
    assert not SyncRun.select().where(SyncRun.status == DONE).exists()
