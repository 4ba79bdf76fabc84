"""The YCLIENTS client reads proxy/CA settings from the environment once, not on every request."""
from __future__ import annotations

import requests
from requests.adapters import BaseAdapter

from runtime.yclients.client import YclientsClient


class Canned(BaseAdapter):
    """Answers every request with a YCLIENTS envelope, without a network."""

    def send(self, request, **kwargs):
        response = requests.Response()
        response.status_code = 200
        response._content = b'{"success": true, "data": {"title": "X"}, "meta": []}'
        response.headers["Content-Type"] = "application/json"
        response.request = request
        response.url = request.url
        return response

    def close(self):
        pass


def test_proxies_from_the_environment_still_apply(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "")
    client = YclientsClient("https://api.yclients.com", "token")
    assert client.session.proxies["https"] == "http://proxy.example:3128"


def test_a_request_does_not_scan_the_environment(monkeypatch):
    client = YclientsClient("https://api.yclients.com", "token")
    client.session.mount("https://", Canned())

    def scanned(*args, **kwargs):
        raise AssertionError("the environment was scanned for this request")

    monkeypatch.setattr(requests.utils, "get_environ_proxies", scanned)
    monkeypatch.setattr(requests.sessions, "get_netrc_auth", scanned)
    assert client.request("GET", "/api/v1/company/1").data == {"title": "X"}
