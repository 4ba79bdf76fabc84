"""The YCLIENTS client's urllib3 transport, against a real HTTP server on localhost: what goes on the wire,
what comes back, and that the environment (proxies, CA bundle) is read once, not on every request."""
from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from runtime.yclients import transport as transport_module
from runtime.yclients.client import YclientsClient
from runtime.yclients.errors import TransientError
from runtime.yclients.transport import NETWORK_ERRORS, Transport, query_string
from tests.support import free_port


class Recorder(BaseHTTPRequestHandler):
    """Answers by path; records every request (method, path, headers, body) on the server."""

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append((self.command, self.path, dict(self.headers), body))
        if self.path.startswith("/moved"):
            self.send_response(301)
            self.send_header("Location", "/api/v1/company/1")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.startswith("/cp1251"):
            payload, content_type = '{"data": {"title": "Анна"}}'.encode("cp1251"), "application/json; charset=windows-1251"
        else:
            payload, content_type = json.dumps({"success": True, "data": {"title": "Салон"}, "meta": []}).encode(), \
                "application/json"
        headers = {"Content-Type": content_type}
        if "gzip" in self.headers.get("Accept-Encoding", "") and self.path.startswith("/gzip"):
            payload, headers["Content-Encoding"] = gzip.compress(payload), "gzip"
        self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Recorder)
    httpd.seen = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def url(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_a_call_sends_headers_query_and_json_body_and_reads_the_envelope(server):
    client = YclientsClient(url(server), "partner-tok", partner_id="7")
    reply = client.request("POST", "/api/v1/x", params={"page": 2, "skip": None, "ids": [1, 2]}, json={"a": "б"})
    assert reply.data == {"title": "Салон"}
    method, path, headers, body = server.seen[0]
    assert (method, path) == ("POST", "/api/v1/x?page=2&ids=1&ids=2")  # None left out, a list repeated
    assert json.loads(body) == {"a": "б"}
    assert headers["Authorization"] == "Bearer partner-tok" and headers["X-Partner-Id"] == "7"
    assert headers["Content-Type"] == "application/json" and "gzip" in headers["Accept-Encoding"]


def test_connections_are_kept_alive_between_calls(server):
    client = YclientsClient(url(server), "partner-tok")
    for _ in range(3):
        client.request("GET", "/api/v1/company/1")
    pool = client.transport.pools.connection_from_url(url(server))
    assert pool.num_connections == 1 and pool.num_requests == 3


def test_redirects_are_answers_when_not_followed_and_followed_otherwise(server):
    transport = Transport(url(server))
    moved = transport.request("POST", url(server) + "/moved", json={}, allow_redirects=False)
    assert moved.status_code == 301 and moved.headers["location"] == "/api/v1/company/1"
    followed = transport.request("GET", url(server) + "/moved")
    assert followed.status_code == 200 and followed.json()["data"] == {"title": "Салон"}


def test_compressed_answers_and_other_charsets_are_decoded(server):
    transport = Transport(url(server))
    assert transport.request("GET", url(server) + "/gzip").json()["data"] == {"title": "Салон"}
    answer = transport.request("GET", url(server) + "/cp1251")
    assert answer.encoding == "windows-1251" and answer.json()["data"]["title"] == "Анна"


def test_a_network_failure_is_a_transient_error():
    closed = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(NETWORK_ERRORS):
        Transport(closed).request("GET", closed + "/x", timeout=2)
    client = YclientsClient(closed, "partner-tok", timeout=2, attempts=1)
    with pytest.raises(TransientError, match="network error"):
        client.request("GET", "/api/v1/company/1")


def test_proxies_and_the_ca_bundle_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "ca.pem"))
    proxied = Transport("https://api.yclients.com")
    assert proxied.proxy == "http://proxy.example:3128" and proxied.ca_bundle == str(tmp_path / "ca.pem")
    assert proxied.pools.proxy.host == "proxy.example"
    assert Transport("https://internal.example").proxy is None  # NO_PROXY honoured


def test_a_request_does_not_read_the_environment_again(server, monkeypatch):
    client = YclientsClient(url(server), "partner-tok")

    def scanned(*args, **kwargs):
        raise AssertionError("the environment was scanned for this request")

    monkeypatch.setattr(transport_module, "get_environ_proxies", scanned)
    monkeypatch.setattr("requests.utils.get_environ_proxies", scanned)
    monkeypatch.setattr("requests.sessions.get_netrc_auth", scanned)
    assert client.request("GET", "/api/v1/company/1").data == {"title": "Салон"}


def test_query_string_is_encoded_as_requests_encodes_params():
    assert query_string({"a": 1, "b": None, "c": ["x", "y"], "d": "б"}) == "a=1&c=x&c=y&d=%D0%B1"
    assert query_string([("a", 1), ("a", 2)]) == "a=1&a=2"
