"""Inside a worker process, install checks waiting for YCLIENTS budget never starve the other jobs.

Every queue of a Dramatiq worker process feeds one in-process work queue; at equal priority it is first come,
first served, so during a burst of redirects 200 install checks cycling through the threads delayed the session
starts and activations of owners who already had their verdict. A real Dramatiq worker with ONE thread on a
StubBroker with our middleware and real Redis: checks fetched before a ping still run after it."""
import time

from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker

from models.live import LiveStatus
from runtime.broker import build_middleware
from tests.support import container_for
from workers import process, registry
from workers.onboarding import install_check


def test_a_job_fetched_after_waiting_install_checks_runs_before_them(settings, database, redis_client, monkeypatch):
    ran = []
    monkeypatch.setattr(install_check, "check_install", lambda api, redis, check: ran.append(("check", time.time())))
    previous = process._current
    live = LiveStatus(redis_client)
    broker = StubBroker(middleware=build_middleware(database, live))
    actors = registry.declare(broker, diagnostics=True)
    assert actors["verify_install"].priority > actors["start_whatsapp_session"].priority
    assert actors["verify_install"].priority > actors["activate_integration"].priority
    process.install(container_for(settings, database, redis_client, "worker", broker=broker, live=live))
    worker = Worker(broker, queues={"interactive", "diagnostics"}, worker_timeout=20, worker_threads=1)
    worker.start()
    try:
        actors["hold"].send("busy", 0.6)  # the only thread is busy while the next messages are fetched
        time.sleep(0.2)
        for i in range(2):
            actors["verify_install"].send(f"check-{i}")
        time.sleep(0.2)  # the checks are in the work queue before the ping arrives
        sent_at = time.time()
        actors["ping"].send("after-checks", sent_at)
        broker.join("interactive")
        broker.join("diagnostics")
        worker.join()
    finally:
        worker.stop()
        process._current = previous
    ping_started = sent_at + float(redis_client.lrange("aiadmin:ping:after-checks", 0, -1)[0])
    assert len(ran) == 2
    assert all(ping_started < started for _, started in ran)
