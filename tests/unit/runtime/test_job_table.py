"""The job table (what web, bridge, clock and CLI enqueue by) matches the actors the worker registers."""
import inspect
import re
import subprocess
import sys

import pytest
from dramatiq.brokers.stub import StubBroker

from runtime.job_table import DIAGNOSTIC_JOBS, JOBS, QUEUES, UnknownJob
from runtime.jobs import Jobs
from runtime.stub_jobs import StubJobs
from tests.support import ROOT
from workers import registry


def test_every_registered_actor_is_in_the_table_on_its_queue_and_nothing_else_is():
    specs = registry.specs(diagnostics=True)
    assert set(JOBS) == set(registry.specs())  # what a production worker runs
    assert set(DIAGNOSTIC_JOBS) == set(specs) - set(JOBS)  # what only a DIAGNOSTIC_ACTORS=1 worker adds
    table = {**JOBS, **DIAGNOSTIC_JOBS}
    wrong = {name: (table[name], spec.queue_name) for name, spec in specs.items() if table[name] != spec.queue_name}
    assert not wrong, f"table queue != actor queue: {wrong}"
    assert set(QUEUES) == {spec.queue_name for spec in specs.values()}


def test_a_job_enqueued_by_name_is_the_message_the_actor_itself_would_send():
    by_table, by_actor = StubBroker(), StubBroker()
    actors = registry.declare(by_actor)
    assert "hold" not in actors and "fail_until" not in actors  # fault injection stays out of production
    ours = Jobs(by_table).send("sync_salon", 962302, "full")
    theirs = actors["sync_salon"].send(962302, "full")
    assert (ours.queue_name, ours.actor_name, ours.args, ours.kwargs) == \
        (theirs.queue_name, theirs.actor_name, theirs.args, theirs.kwargs)
    assert by_table.queues["sync"].qsize() == 1


def test_a_delayed_job_waits_on_the_delay_queue_and_options_reach_the_message():
    broker = StubBroker()
    message = Jobs(broker).send_with_options("activate_integration", args=(7,), delay_ms=5_000, max_retries=1)
    assert message.queue_name == "onboarding.DQ" and message.options["max_retries"] == 1
    assert broker.queues["onboarding.DQ"].qsize() == 1 and broker.queues["onboarding"].qsize() == 0


def test_an_unknown_job_name_is_refused_before_anything_is_enqueued():
    broker = StubBroker()
    with pytest.raises(UnknownJob):
        Jobs(broker).send("start_whatsap_session", 1)
    assert all(q.qsize() == 0 for q in broker.queues.values())


def test_web_and_bridge_load_no_worker_module():
    code = ("import sys, web.app, bridge.relay, runtime.jobs\n"
            "print(sorted(m for m in sys.modules if m == 'workers' or m.startswith('workers.')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"



def _parameters(fn, drop=("self", "delay_ms")):
    return [(p.name, p.default) for p in inspect.signature(fn).parameters.values() if p.name not in drop]


def test_every_job_but_the_retry_callbacks_has_a_typed_method_with_the_actors_parameters():
    specs = registry.specs(diagnostics=True)
    callbacks = {spec.options["on_retry_exhausted"] for spec in specs.values() if "on_retry_exhausted" in spec.options}
    assert callbacks and callbacks <= set(JOBS) | set(DIAGNOSTIC_JOBS)
    for name, spec in specs.items():
        if name in callbacks:
            assert not hasattr(Jobs, name), f"{name} is enqueued by Retries only"
            continue
        method = getattr(Jobs, name, None)
        assert method is not None, f"Jobs has no typed method for {name}"
        assert _parameters(method) == _parameters(spec.fn), name


def test_a_typed_method_sends_its_job_with_the_given_arguments_and_delay():
    broker = StubBroker()
    message = Jobs(broker).sync_salon(962302, "incremental", delay_ms=1_000)
    assert (message.actor_name, message.args, message.queue_name) == ("sync_salon", (962302, "incremental"), "sync.DQ")


def test_the_stub_records_typed_sends_and_fails_like_a_broker_when_told():
    jobs = StubJobs()
    jobs.start_whatsapp_session(7)
    jobs.send_whatsapp_text(9, delay_ms=1500)
    assert jobs.calls() == [("start_whatsapp_session", 7), ("send_whatsapp_text", 9)]
    assert jobs.sent[1].delay_ms == 1500
    with pytest.raises(UnknownJob):
        jobs.send("no_such_job")
    with pytest.raises(ConnectionError):
        StubJobs(fail=ConnectionError("redis is down")).process_webhook(1)


def test_the_queue_table_in_docs_architecture_is_the_job_table():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## Queues", 1)[1].split("\n## ", 1)[0]
    documented = {}
    for row in section.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            for job in re.findall(r"`(\w+)`", cells[2]):
                documented[job] = cells[0].strip("`")
    assert documented == {**JOBS, **DIAGNOSTIC_JOBS}
