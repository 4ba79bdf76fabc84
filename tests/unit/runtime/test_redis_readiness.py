"""Taking a connection from the pool asks the OS, not gevent's hub, whether data is waiting; a connection
that does hold unread data is still seen as such, and a real wait still cooperates."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from runtime import redis_client
from runtime.broker import build_broker
from runtime.redis_readiness import OsPollReadiness
from tests.support import ROOT, settings_env

GEVENT_SCRIPT = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()
    import json, select, sys, time
    import gevent
    from runtime.redis_client import redis_client
    from runtime.settings import Settings

    gevent_polls = []
    hub_poll = select.poll  # gevent's, after patch_all

    def counting_poll():
        gevent_polls.append(1)
        return hub_poll()

    select.poll = counting_poll  # what redis-py's parser module finds (it looks select.poll up on each check)
    client = redis_client(Settings.from_env())
    client.ping()
    before = len(gevent_polls)
    for i in range(50):
        client.set(f"k{i}", i)
        client.get(f"k{i}")
    checkouts = len(gevent_polls) - before

    # The check's answer is unchanged: a reply waiting on the connection is seen, none is not.
    connection = client.connection_pool.get_connection()
    idle = connection.can_read()
    connection.send_command("GET", "k7")
    time.sleep(0.1)  # its reply is in the socket's buffer
    waiting = connection.can_read()
    connection.read_response()
    answers_right = (idle, waiting, connection.can_read()) == (False, True, False)
    client.connection_pool.release(connection)

    # A real wait (pub/sub with a timeout) still goes through the hub: other greenlets run meanwhile.
    ticks = []
    def ticker():
        for _ in range(10):
            ticks.append(1)
            gevent.sleep(0.02)
    pubsub = client.pubsub()
    pubsub.subscribe("nothing")
    pubsub.get_message(timeout=1)  # the subscribe confirmation
    runner = gevent.spawn(ticker)
    started = time.monotonic()
    pubsub.get_message(timeout=0.3)
    runner.join()
    print(json.dumps({"hub_polls_for_100_commands": checkouts, "answers_right": answers_right,
                      "ticks_while_waiting": len(ticks), "waited": round(time.monotonic() - started, 2)}))
""")


def test_under_gevent_a_pool_checkout_makes_no_hub_poll_yet_sees_waiting_data_and_real_waits_cooperate(settings, redis_url):
    env = {**os.environ, **settings_env(settings.replace(redis_url=redis_url))}
    out = subprocess.run([sys.executable, "-c", GEVENT_SCRIPT], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # redis-py's own parser polls through gevent on each of the 100 checkouts
    assert result["hub_polls_for_100_commands"] == 0
    assert result["answers_right"] is True
    assert result["ticks_while_waiting"] == 10 and result["waited"] >= 0.25


def test_every_redis_client_of_ours_uses_it(settings, redis_url):
    client = redis_client.redis_client(settings.replace(redis_url=redis_url))
    broker = build_broker(settings.replace(redis_url=redis_url))
    for pool in (client.connection_pool, broker.client.connection_pool):
        assert pool.connection_kwargs["parser_class"] is OsPollReadiness
    assert broker.client.ping() and client.ping()
