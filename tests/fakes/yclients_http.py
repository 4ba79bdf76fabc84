"""requests-like answers for the YCLIENTS client tests, and a client built over them."""
from __future__ import annotations

from runtime.yclients.client import YclientsClient


class FakeResponse:
    def __init__(self, status, json=None, text=None, headers=None):
        import json as _json

        self.status_code = status
        self.text = text if text is not None else ("" if json is None else _json.dumps(json))
        self.headers = headers or {}
        self._json = json
        self.encoding = "utf-8"  # as requests reads `application/json`
        self.content = self.text.encode()

    def json(self):
        if self._json is None:
            raise ValueError("not json")
        return self._json


class FakeSession:
    def __init__(self, *responses):
        self.responses = list(responses)
        self.calls = []

    def request(self, method, url, **kw):
        self.calls.append((method, url, kw))
        item = self.responses.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


class Limiter:
    def __init__(self):
        self.count = 0

    def acquire(self, caller=None):
        self.count += 1


def make(*responses, user_token="", attempts=3, partner_id=""):
    sleeps = []
    limiter = Limiter()
    session = FakeSession(*responses)
    client = YclientsClient("http://yc", "partner-tok", user_token=user_token, timeout=3, limiter=limiter,
                            attempts=attempts, transport=session, sleep=sleeps.append, partner_id=partner_id)
    return client, session, sleeps, limiter


def ok(data, meta=None):
    return FakeResponse(200, {"success": True, "data": data, "meta": meta or {}})
