"""The webhook CLI makes the sandbox send YCLIENTS-shaped webhooks to the URL the salon registered."""
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from sandbox.yclients import cli
from sandbox.yclients.app import context_from_env, create_app
from tests.support import free_port

TOKEN = "partner-secret"


@pytest.fixture
def receiver():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, json.loads(body)))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", received
    server.shutdown()


@pytest.fixture
def sandbox(receiver):
    base, _ = receiver
    app = create_app(context_from_env({"YCLIENTS_PARTNER_TOKEN": TOKEN, "PUBLIC_BASE_URL": base,
                                       "YCLIENTS_RATE_LIMIT": "1000/s"}))
    port = free_port()
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield app, f"http://127.0.0.1:{port}"
    server.shutdown()


def test_record_webhook_goes_to_the_registered_url(sandbox, receiver):
    app, url = sandbox
    base, received = receiver
    app.test_client().post("/marketplace/partner/callback/redirect", headers={"Authorization": f"Bearer {TOKEN}"},
                           json={"salon_id": 962302, "application_id": 18289, "api_key": "k" * 64,
                                 "webhook_urls": [f"{base}/webhook/yclients/key123"]})
    assert cli.main(["webhook", "record", "update", "--salon", "962302", "--id", "9623020000001",
                     "--sandbox", url]) == 0
    path, body = received[-1]
    assert path == "/webhook/yclients/key123"
    assert body["resource"] == "record" and body["status"] == "update" and body["resource_id"] == 9623020000001
    assert body["company_id"] == 962302 and body["data"]["id"] == 9623020000001


def test_uninstall_goes_to_the_lifecycle_url_with_the_partner_token(sandbox, receiver):
    _, url = sandbox
    _, received = receiver
    assert cli.main(["webhook", "uninstall", "--salon", "962302", "--sandbox", url]) == 0
    path, body = received[-1]
    assert path == "/webhook/yclients"
    assert body == {"salon_id": 962302, "application_id": 18289, "event": "uninstall", "partner_token": TOKEN}


def test_client_delete_and_freeze(sandbox, receiver):
    app, url = sandbox
    base, received = receiver
    assert cli.main(["webhook", "client", "delete", "--salon", "962302", "--url", f"{base}/x", "--sandbox", url]) == 0
    assert received[-1][1]["resource"] == "client" and received[-1][1]["data"]["deleted"] is True
    assert cli.main(["webhook", "freeze", "--salon", "962302", "--sandbox", url]) == 0
    assert received[-1][1]["event"] == "freeze"
