"""The simulator signs webhooks like WAHA and retries a delivery the receiver refused."""
import threading

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from bridge.webhooks import verify_signature
from sandbox.whatsapp.delivery import WebhookSender
from tests.support import wait_for


class FlakyReceiver:
    def __init__(self, failures: int):
        self.failures = failures
        self.calls = []
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/waha/webhook"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @Request.application
    def app(self, request):
        self.calls.append((request.headers.get("X-Webhook-Hmac"), request.get_data()))
        if len(self.calls) <= self.failures:
            return Response("busy", status=503)
        return Response("{}", content_type="application/json")


def test_a_refused_webhook_is_retried_with_the_same_signed_body():
    receiver = FlakyReceiver(failures=2)
    sleeps = []
    sender = WebhookSender(timeout=2, sleep=sleeps.append)
    hook = {"url": receiver.url, "events": ["session.status"], "hmac": {"key": "s3cret"},
            "retries": {"policy": "constant", "delaySeconds": 2, "attempts": 5}}
    envelope = {"id": "evt_1", "timestamp": 1, "event": "session.status", "session": "salon_1",
                "payload": {"status": "WORKING"}}
    sender([hook, {"url": receiver.url, "events": ["message"]}], envelope)  # the second hook does not want it
    wait_for(lambda: len(receiver.calls) == 3 and sender.idle(), timeout=10,
             message="three attempts")
    assert sleeps == [2.0, 2.0]
    assert len({body for _, body in receiver.calls}) == 1
    assert all(verify_signature("s3cret", body, signature) for signature, body in receiver.calls)
    assert not verify_signature("other", receiver.calls[0][1], receiver.calls[0][0])
    receiver.server.shutdown()


def test_a_hook_without_a_key_is_sent_unsigned_and_gives_up_after_its_attempts():
    receiver = FlakyReceiver(failures=100)
    sender = WebhookSender(timeout=2, sleep=lambda s: None)
    sender([{"url": receiver.url, "events": ["*"], "retries": {"attempts": 3}}],
           {"id": "evt_2", "timestamp": 1, "event": "message", "session": "salon_1", "payload": {}})
    wait_for(lambda: len(receiver.calls) == 3 and sender.idle(), timeout=10,
             message="three attempts")
    assert receiver.calls[0][0] is None
    receiver.server.shutdown()


class SlowReceiver(FlakyReceiver):
    """Takes 50 ms per request: one session's backlog then lasts long enough to be overtaken."""

    @Request.application
    def app(self, request):
        import time

        time.sleep(0.05)
        self.calls.append((request.headers.get("X-Webhook-Hmac"), request.get_data()))
        return Response("{}", content_type="application/json")


def test_one_sessions_events_keep_their_order_while_another_sessions_do_not_wait_behind_them():
    receiver = SlowReceiver(failures=0)
    sender = WebhookSender(timeout=2, sleep=lambda s: None, lanes=4)
    hook = {"url": receiver.url, "events": ["*"]}
    for i in range(20):
        sender([hook], {"id": f"a{i}", "timestamp": 1, "event": "state.change", "session": "salon_a", "payload": {}})
    sender([hook], {"id": "b0", "timestamp": 1, "event": "state.change", "session": "salon_b", "payload": {}})
    wait_for(lambda: len(receiver.calls) == 21 and sender.idle(), timeout=10, message="all delivered")
    ids = [body.split(b'"id":"')[1].split(b'"')[0].decode() for _, body in receiver.calls]
    assert [i for i in ids if i.startswith("a")] == [f"a{i}" for i in range(20)]  # in order within a session
    assert ids.index("b0") < ids.index("a19")  # not queued behind the other session's 20 events (1 s)
    receiver.server.shutdown()
