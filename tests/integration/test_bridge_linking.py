"""End to end over real processes: the simulator, the bridge relay (gunicorn) and a worker, on a real Redis
and database. Linking by QR and by pairing code ends in whatsapp_connected; an expired window is restarted;
the welcome-style paced send arrives within seconds."""
import json
import subprocess
import sys
import time

import pytest
import redis as redis_lib
import requests

from models.live import LiveStatus
from models.outbound import OutboundMessage
from models.salon import Salon
from tests.support import BIN, ROOT, free_port, wait_for
from runtime.broker import build_broker
from runtime.jobs import Jobs

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(services, settings, database, redis_url):
    sim_port, bridge_port = free_port(), free_port()
    sim_url, bridge_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{bridge_port}"
    settings = settings.replace(waha_url=sim_url, bridge_public_url=bridge_url)
    sim = services("whatsapp-sim", [sys.executable, "-m", "sandbox.whatsapp", "serve", "--port", str(sim_port)],
                   settings)
    bridge = services("bridge", [str(BIN / "gunicorn"), "--threads", "4", "--bind", f"127.0.0.1:{bridge_port}",
                                 "bridge.relay:create_app()"], settings)
    worker = services("worker", [str(BIN / "dramatiq"), "workers.main", "--skip-logging", "--processes", "1",
                                 "--threads", "4", "--queues", "whatsapp", "outbound"], settings,
                      env={"dramatiq_worker_timeout": "100"})
    sim.wait_http(sim_url + "/healthz")
    bridge.wait_http(bridge_url + "/healthz")
    client = redis_lib.Redis.from_url(redis_url)

    class Stack:
        pass

    s = Stack()
    s.settings, s.sim_url, s.worker, s.bridge = settings, sim_url, worker, bridge
    s.live, s.jobs, s.redis = LiveStatus(client), Jobs(build_broker(settings)), client
    yield s
    client.close()


def phone_cli(stack, *args):
    result = subprocess.run([sys.executable, "-m", "sandbox.whatsapp", *args, "--url", stack.sim_url],
                            cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def slot(stack, salon_id, name, predicate=lambda value: value is not None, timeout=20):
    def ready():
        value = stack.live.snapshot(salon_id)["data"][name]
        return value if predicate(value) else None

    return wait_for(ready, timeout=timeout,
                    message=f"{name} for salon {salon_id}\n{stack.worker.log()[-3000:]}\n{stack.bridge.log()[-3000:]}")


def onboarding_jobs(stack):
    return [json.loads(m)["actor_name"] for m in stack.redis.hvals("dramatiq:onboarding.msgs")]


def test_qr_and_pairing_code_linking_both_end_connected_and_a_paced_send_arrives(stack):
    Salon.create(salon_id=7)
    Salon.create(salon_id=8)
    stack.jobs.send("start_whatsapp_session", 7)
    stack.jobs.send("start_whatsapp_session", 8)
    qr = slot(stack, 7, "qr")
    assert qr["expires_in"] == 60 and qr["payload"].startswith("https://wa.me/settings/linked_devices#2@")
    phone_cli(stack, "scan", "salon_7", "--phone", "79001234567")
    assert slot(stack, 7, "whatsapp") == {"phone": "79001234567"}

    slot(stack, 8, "qr")
    stack.jobs.send("request_pairing_code", 8, "8 (900) 111-22-33")
    code = slot(stack, 8, "pairing_code")["code"]
    phone_cli(stack, "enter-code", "salon_8", code)
    assert slot(stack, 8, "whatsapp") == {"phone": "79001112233"}

    Salon._meta.database.connect(reuse_if_open=True)
    assert Salon.get_by_id(8).whatsapp_state == "connected" and Salon.get_by_id(8).whatsapp_phone == "79001112233"
    wait_for(lambda: onboarding_jobs(stack).count("on_whatsapp_connected") == 2, timeout=10,
             message="on_whatsapp_connected enqueued once per salon")

    outbound = OutboundMessage.create(salon_id=7, key="welcome:7", chat_id="79001234567@c.us", text="🎉 Поздравляем!")
    started = time.monotonic()
    stack.jobs.send("send_whatsapp_text", outbound.id)
    messages = wait_for(lambda: requests.get(stack.sim_url + "/_sim/messages", timeout=5).json(), timeout=15,
                        message="the message at the simulator")
    assert time.monotonic() - started < 6
    assert [m["text"] for m in messages] == ["🎉 Поздравляем!"]
    wait_for(lambda: OutboundMessage.get_by_id(outbound.id).status == "sent", timeout=10, message="row sent")


def test_an_expired_window_offers_a_restart_that_shows_a_fresh_qr(stack):
    Salon.create(salon_id=9)
    stack.jobs.send("start_whatsapp_session", 9)
    first = slot(stack, 9, "qr")
    phone_cli(stack, "advance", "161")
    assert slot(stack, 9, "error")["code"] == "link_expired"
    stack.jobs.send("restart_linking", 9)
    fresh = slot(stack, 9, "qr", lambda q: q is not None and q["payload"] != first["payload"])
    assert fresh["expires_in"] == 60
    assert stack.live.snapshot(9)["data"]["error"] is None
