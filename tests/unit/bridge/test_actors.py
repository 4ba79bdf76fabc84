"""The send actors on a real Dramatiq worker (StubBroker + our middleware): an ambiguous send is never
retried and is recorded for support; retries that run out fail the row and notify its actor."""
import pytest
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker

from runtime.gateway.waha import WahaClient
from models import outbound as O
from models.failure import Failure
from models.outbound import OutboundMessage
from models.salon import Salon
from runtime.broker import build_middleware
from runtime.jobs import Jobs
from tests.support import container_for, free_port
from tests.fakes.gateway_sim import API_KEY
from workers import process, registry


@pytest.fixture
def worker_for(settings, database, redis_client):
    previous = process._current
    started = []

    def start(waha):
        broker = StubBroker(middleware=build_middleware(database))
        registry.declare(broker, diagnostics=True)
        process.install(container_for(settings, database, redis_client, "worker", broker=broker, jobs=Jobs(broker),
                                      gateway=waha))
        worker = Worker(broker, queues={"outbound"}, worker_timeout=50, worker_threads=1)
        worker.start()
        started.append(worker)
        return broker

    yield start
    for worker in started:
        worker.stop()
    process._current = previous


@pytest.fixture
def row(sim, database):
    Salon.create(salon_id=42)
    sim.core.create("salon_42", {})
    sim.core.scan("salon_42", "79001234567")
    return OutboundMessage.create(salon_id=42, key="welcome:42", chat_id="79001234567@c.us", text="Привет",
                                  notify_actor="on_welcome_finished")


def test_an_ambiguous_send_runs_once_and_is_recorded_for_support(worker_for, sim, row, database):
    broker = worker_for(WahaClient(sim.url, API_KEY, timeout=0.5))
    sim.core.faults["send_timeout"] = 1.0
    broker.get_actor("deliver_whatsapp_text").send(row.id)
    broker.join("outbound", fail_fast=False, timeout=20_000)
    assert len(sim.core.messages) == 1
    assert OutboundMessage.get_by_id(row.id).status == O.UNKNOWN
    failure = Failure.get(Failure.actor_name == "deliver_whatsapp_text")
    assert failure.permanent and failure.error_type == "AmbiguousSend" and failure.attempts == 1
    assert broker.queues["onboarding"].qsize() == 1  # on_welcome_finished(row id)


def test_retries_that_run_out_before_sending_fail_the_row_and_notify(worker_for, sim, row, database):
    broker = worker_for(WahaClient(f"http://127.0.0.1:{free_port()}", API_KEY, timeout=1))
    broker.get_actor("deliver_whatsapp_text").send_with_options(args=(row.id,), max_retries=1, min_backoff=10,
                                                                 max_backoff=20)
    broker.join("outbound", fail_fast=False, timeout=20_000)
    refreshed = OutboundMessage.get_by_id(row.id)
    assert refreshed.status == O.FAILED and "gave up" in refreshed.error
    assert sim.core.messages == []
    assert broker.queues["onboarding"].qsize() == 1
