"""Metrics: the named functions count, `/metrics` parses as Prometheus text, processes aggregate."""
import os
import subprocess
import sys
import textwrap
import time

from prometheus_client.parser import text_string_to_metric_families

from tests.support import ROOT
from workers import metrics
from workers.metrics_queues import QueueCollector


def samples(text: str) -> dict:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def test_named_functions_count_what_the_code_paths_report():
    m = metrics.reset_for_tests()
    metrics.redirect("ok")
    metrics.redirect("ok")
    metrics.redirect("bad_signature")
    metrics.activation("done", 4.2)
    metrics.yclients_request(200)
    metrics.yclients_request(429)
    metrics.yclients_request("error")
    metrics.sync_finished(12.5, 1234)
    metrics.webhook("lifecycle", "accepted")
    metrics.websockets(+1)
    metrics.websockets(+1)
    metrics.websockets(-1)
    metrics.message_sent("sent")
    got = samples(m.render()[0].decode())
    assert got[("aiadmin_redirects_total", (("outcome", "ok"),))] == 2
    assert got[("aiadmin_redirects_total", (("outcome", "bad_signature"),))] == 1
    assert got[("aiadmin_activations_total", (("outcome", "done"),))] == 1
    assert got[("aiadmin_activation_seconds_count", ())] == 1
    assert got[("aiadmin_activation_seconds_bucket", (("le", "5.0"),))] == 1
    assert got[("aiadmin_activation_seconds_bucket", (("le", "2.0"),))] == 0
    assert got[("aiadmin_yclients_requests_total", (("status", "429"),))] == 1
    assert got[("aiadmin_yclients_requests_total", (("status", "error"),))] == 1
    assert got[("aiadmin_yclients_rate_limited_total", ())] == 1
    assert got[("aiadmin_sync_rows_total", ())] == 1234
    assert got[("aiadmin_sync_seconds_sum", ())] == 12.5
    assert got[("aiadmin_webhooks_total", (("kind", "lifecycle"), ("outcome", "accepted")))] == 1
    assert got[("aiadmin_websockets_open", ())] == 1
    assert got[("aiadmin_messages_sent_total", (("outcome", "sent"),))] == 1


def test_a_broken_metric_call_never_raises():
    metrics.reset_for_tests()
    metrics.activation("done", "not a number")
    metrics.websockets(None)
    metrics.sync_finished(object(), 1)


def test_queue_collector_reports_depth_age_and_dead_letters(settings, redis_client):
    from workers.broker import build_broker
    from workers.jobs import Jobs

    jobs = Jobs(build_broker(settings))
    jobs.send("sync_salon", 1, "full")
    jobs.send("sync_salon", 2, "full")
    redis_client.zadd("dramatiq:sync.XQ", {"dead-1": 1})
    later = time.time() + 30
    collector = QueueCollector(redis_client, queues=["sync", "onboarding"], clock=lambda: later)
    m = metrics.reset_for_tests()
    got = samples(m.render([collector])[0].decode())
    assert got[("aiadmin_queue_depth", (("queue", "sync"),))] == 2
    assert got[("aiadmin_queue_depth", (("queue", "onboarding"),))] == 0
    assert got[("aiadmin_dead_letters", (("queue", "sync"),))] == 1
    assert 29 < got[("aiadmin_queue_oldest_age_seconds", (("queue", "sync"),))] < 32


def test_queue_collector_survives_redis_being_down():
    import redis

    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    text = metrics.reset_for_tests().render([QueueCollector(dead, queues=["sync"])])[0].decode()
    assert "aiadmin_queue_depth" in text  # the family is there, empty; the scrape still answers


def test_web_metrics_endpoint_needs_the_token_and_counts_failures(database, settings, redis_client):
    from models.db import init_database
    from models.failure import Failure
    from models.live import LiveStatus
    from web.app import create_app
    from web.context import WebContext
    from workers.broker import build_broker
    from workers.jobs import Jobs

    Failure.create(actor_name="sync_salon", queue_name="sync", message_id="m1", salon_id=1)
    context = WebContext(settings=settings, database=init_database(settings.database_url), redis=redis_client,
                         jobs=Jobs(build_broker(settings)), live=LiveStatus(redis_client))
    client = create_app(settings, context=context).test_client()
    assert client.get("/metrics").status_code == 401
    metrics.reset_for_tests()
    metrics.redirect("ok")
    response = client.get("/metrics", headers={"Authorization": "Bearer test-health-token"})
    assert response.status_code == 200 and response.content_type.startswith("text/plain")
    got = samples(response.get_data(as_text=True))
    assert got[("aiadmin_redirects_total", (("outcome", "ok"),))] == 1
    assert got[("aiadmin_failures_open", ())] == 1


CHILD = textwrap.dedent("""
    import os, sys
    from workers import metrics
    metrics.configure("test")
    action = sys.argv[1]
    if action == "count":
        metrics.redirect("ok")
        metrics.websockets(+1)
    elif action == "render":
        sys.stdout.write(metrics.current().render()[0].decode())
""")


def test_processes_sharing_the_multiprocess_directory_are_summed_and_dead_sockets_forgotten(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def child(action):
        return subprocess.run([sys.executable, "-c", CHILD, action], cwd=ROOT, env=env, capture_output=True,
                              text=True, check=True, timeout=60).stdout

    child("count")
    child("count")
    got = samples(child("render"))
    assert got[("aiadmin_redirects_total", (("outcome", "ok"),))] == 2
    # The two counting processes have exited: their open websockets no longer count.
    assert got.get(("aiadmin_websockets_open", ()), 0) == 0


def test_activation_and_sync_helpers_measure_from_the_database(database):
    import datetime

    from models.db import utcnow
    from models.salon import Salon
    from models.sync_run import SyncRun

    m = metrics.reset_for_tests()
    Salon.create(salon_id=7, whatsapp_connected_at=utcnow() - datetime.timedelta(seconds=3))
    metrics.activation_finished(7, "done")
    metrics.activation_finished(404, "failed")  # unknown salon: counted, no latency
    start = datetime.datetime(2026, 1, 1, 10, 0, 0)
    run = SyncRun.create(salon_id=7, status="done", started_at=start, finished_at=start + datetime.timedelta(seconds=42),
                         counts={"clients": 10, "records": 5})
    metrics.sync_run_finished(run.id, "done")
    got = samples(m.render()[0].decode())
    assert got[("aiadmin_activations_total", (("outcome", "done"),))] == 1
    assert got[("aiadmin_activations_total", (("outcome", "failed"),))] == 1
    assert got[("aiadmin_activation_seconds_count", ())] == 1
    assert 2.5 < got[("aiadmin_activation_seconds_sum", ())] < 10
    assert got[("aiadmin_sync_seconds_sum", ())] == 42 and got[("aiadmin_sync_rows_total", ())] == 15
    assert got[("aiadmin_syncs_total", (("outcome", "done"),))] == 1


def test_bridge_serves_metrics_too(database, settings, redis_client):
    from bridge.relay import create_app
    from models.db import init_database
    from models.live import LiveStatus

    context = {"settings": settings, "database": init_database(settings.database_url), "redis": redis_client,
               "jobs": None, "live": LiveStatus(redis_client), "waha": object()}
    client = create_app(settings, context=context).test_client()
    assert client.get("/metrics").status_code == 401
    metrics.reset_for_tests()
    metrics.message_sent("sent")
    response = client.get("/metrics", headers={"Authorization": "Bearer test-health-token"})
    assert response.status_code == 200
    assert samples(response.get_data(as_text=True))[("aiadmin_messages_sent_total", (("outcome", "sent"),))] == 1


def test_two_processes_forgetting_the_same_dead_files_do_not_crash(tmp_path, monkeypatch):
    import glob

    # Both processes listed the dead process's file; the other one removed it before we did.
    stale = str(tmp_path / "gauge_livesum_999999.db")
    monkeypatch.setattr(glob, "glob", lambda pattern: [stale] if "999999" in pattern or "*" in pattern else [])
    monkeypatch.setattr(metrics, "_alive", lambda pid: False)
    metrics.forget_dead_processes(str(tmp_path))  # FileNotFoundError before the fix
