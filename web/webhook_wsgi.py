"""WSGI fast path for YCLIENTS webhook intake: an accepted delivery is answered without Flask's machinery.

Under load a stored delivery cost the web worker ~1 ms of CPU, a fifth of it Flask's request context,
routing and hooks (docs/performance/webhook-intake.md). This middleware sits in front of the Flask app and takes only
`POST /webhook/yclients[/<key>]` with a Content-Length within the limit. It decides with the same code
as the view (`webhooks.decide`: verify, then store through the process's group-commit writer) and:

- answers a 2xx itself, with the headers the app's hooks would have added (there is nothing else to do
  for an accepted delivery: no limit or budget applies to it, no Redis call);
- hands any other outcome (refusal, failed store) to Flask with the body re-fed and the outcome in the
  environ, so the view renders it with its hooks (refusal limit, error budget, logging) — decided once;
- and lets Flask do everything (the body re-fed) if deciding raised (say the key lookup met a
  database outage), or the request is anything else: chunked, oversized, another path or method.
"""
from __future__ import annotations

import io

from runtime import metrics
from web import webhooks
from web.marketplace.security import EVERY_ANSWER

PREFIX = "/webhook/yclients"


def _key_of(path: str) -> tuple[bool, str | None]:
    """(is an intake path, its key)."""
    if path == PREFIX:
        return True, None
    if path.startswith(PREFIX + "/"):
        key = path[len(PREFIX) + 1:]
        if key and "/" not in key:
            return True, key
    return False, None


class WebhookFastPath:
    def __init__(self, app, container):
        self.app = app
        self.container = container
        self.next = app.wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "POST":
            return self.next(environ, start_response)
        ours, key = _key_of(environ.get("PATH_INFO", ""))
        if not ours or environ.get("HTTP_TRANSFER_ENCODING"):
            return self.next(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return self.next(environ, start_response)
        if not 0 < length <= webhooks.MAX_BODY_BYTES:
            return self.next(environ, start_response)
        raw = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(raw)  # whatever follows reads the same body
        if len(raw) != length:
            return self.next(environ, start_response)
        database = self.container.database
        try:
            outcome = webhooks.decide(raw, key, self.container.settings, webhooks.keys(self.app),
                                      webhooks.store(self.app))
        except Exception:
            return self.next(environ, start_response)  # Flask's error handlers answer it (decided nothing)
        finally:
            if not database.is_closed():
                database.close()  # a key lookup connected (a cache miss); as the app's teardown does
        if not 200 <= outcome.status < 300:
            environ[webhooks.OUTCOME] = outcome
            return self.next(environ, start_response)
        metrics.webhook(outcome.kind, outcome.metric)
        body = outcome.body
        start_response(f"{outcome.status} OK", [("Content-Type", "application/json"),
                                                ("Content-Length", str(len(body))), *EVERY_ANSWER])
        return [body]
