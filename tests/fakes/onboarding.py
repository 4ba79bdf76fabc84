"""Helpers for the marketplace/onboarding tests: signed redirect URLs like YCLIENTS sends, a recording job queue (the shipped StubJobs)."""
from __future__ import annotations

import threading
from urllib.parse import urlencode

import redis

from models import install_check as ic
from models.salon import Salon
from runtime.stub_jobs import StubJobs
from runtime.yclients.stub import StubYclients
from web.context import ctx
from web.marketplace import userdata
from workers.onboarding.install_check import check_install


SAMPLE_USER = {"id": 1234567, "name": "Иванов Иван", "phone": "89001234567", "email": "Owner@Example.com",
               "is_approved": True, "avatar": "https://assets.yclients.com/a.png", "salon_name": "Салон «Пример»"}


def signed_query(partner_token: str, salon_ids=(962302,), user: dict | None = None, *, urlsafe: bool = True,
                 key: str | None = None, form: str = "salon_id", extra: dict | None = None) -> str:
    """The query string of a registration redirect, signed as YCLIENTS signs it (HMAC of the decoded JSON)."""
    user = SAMPLE_USER if user is None else user
    encoded = userdata.encode(user, urlsafe=urlsafe)
    raw = userdata.decode(encoded)
    params: list[tuple[str, str]] = []
    if form == "salon_id":
        params += [("salon_id", str(s)) for s in salon_ids]
    elif form == "array":
        params += [("salon_ids[]", str(s)) for s in salon_ids]
    elif form == "indexed":
        params += [(f"salon_ids[{i}]", str(s)) for i, s in enumerate(salon_ids)]
    # form == "none": the caller adds the salon part itself
    params += [("user_data", encoded), ("user_data_sign", userdata.sign(raw, key or partner_token))]
    params += list((extra or {}).items())
    return urlencode(params)


def answer_check(redis_client, check: str, yclients: StubYclients | None = None, pressed: bool = True):
    """The worker answers an install check against `yclients` (a fresh StubYclients by default), after the
    owner pressed «Подключить» for the check's branches (`pressed`; YCLIENTS then has them pending, an
    active one stays active)."""
    yclients = StubYclients() if yclients is None else yclients
    request = ic.load_request(redis_client, check)
    if pressed and request is not None:
        yclients.press_connect(*request.salon_ids)
    return check_install(yclients, redis_client, check)


class RecordingJobs(StubJobs):
    """The shipped StubJobs, plus what these tests watch: what the database held at each
    `start_whatsapp_session` (enqueue-after-commit), and `verify_install` answered at once, as the worker
    would, against `yclients` (a StubYclients) after the owner pressed «Подключить» for the check's branches
    (`connect_pressed`; by default YCLIENTS so has every branch pending, with no title); a check is listed in `checks`, not in `sent`. With `answer_checks=False` it stays
    unanswered (the page keeps "checking"). `fail=True`: every enqueue fails as with the broker down.
    """

    def __init__(self, database=None, fail: bool = False, yclients: StubYclients | None = None,
                 answer_checks: bool = True):
        super().__init__(fail=redis.ConnectionError("broker down") if fail else None)
        self.checks: list[str] = []
        self.database = database
        self.rows_seen: list = []
        self.yclients = StubYclients() if yclients is None else yclients
        self.connect_pressed = True
        self.answer_checks = answer_checks

    def send_with_options(self, job, *, args=(), kwargs=None, delay_ms=None, **options):
        if self.fail is None and job == "verify_install":
            self.checks.append(args[0])
            if self.answer_checks:
                answer_check(ctx().redis, args[0], self.yclients, self.connect_pressed)
            return None
        if self.fail is None and self.database is not None and job == "start_whatsapp_session":
            # Read through a separate connection: only committed rows are visible there.
            self.rows_seen.append(self._committed_salon(args[0]))
        return super().send_with_options(job, args=args, kwargs=kwargs, delay_ms=delay_ms, **options)

    def _committed_salon(self, salon_id):
        found = []

        def look():
            db = self.database
            db.connect(reuse_if_open=True)
            try:
                found.append(Salon.get_or_none(Salon.salon_id == salon_id) is not None)
            finally:
                db.close()

        thread = threading.Thread(target=look)
        thread.start()
        thread.join(10)
        return found[0] if found else None


class ReopeningClient:
    """A Flask test client that reopens the test's database connection the app's teardown closed."""

    def __init__(self, client, database):
        self._client = client
        self._database = database

    def _call(self, method, *args, **kwargs):
        try:
            return getattr(self._client, method)(*args, **kwargs)
        finally:
            self._database.connect(reuse_if_open=True)

    def get(self, *args, **kwargs):
        return self._call("get", *args, **kwargs)

    def post(self, *args, **kwargs):
        return self._call("post", *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


def press_connect(sandbox_url: str, salon_ids=(962302,), **params) -> str:
    """«Подключить» in the YCLIENTS sandbox: it marks the branches pending (as YCLIENTS does) and answers with
    the signed redirect to our service; returns that URL. `params`: e.g. user_id=… for a colleague."""
    import requests

    query = {"salon_id": salon_ids[0]} if len(salon_ids) == 1 else \
        {f"salon_ids[{i}]": s for i, s in enumerate(salon_ids)}
    answer = requests.get(f"{sandbox_url}/connect", params={**query, **params}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:300]
    return answer.headers["Location"]


def is_checking_page(response) -> bool:
    return response.status_code == 200 and 'http-equiv="refresh"' in response.text \
        and "/auth/yclients/redirect" in response.url


def open_redirect(browser, url: str, timeout: float = 30.0, request_timeout: float = 15.0, **kwargs):
    """GET the redirect like a browser: follow redirects AND the "checking" page's meta refresh."""
    import time

    deadline = time.monotonic() + timeout
    response = browser.get(url, timeout=request_timeout, **kwargs)
    while is_checking_page(response) and time.monotonic() < deadline:
        time.sleep(1)
        response = browser.get(response.url, timeout=request_timeout,
                               **{k: v for k, v in kwargs.items() if k != "params"})  # the URL has them now
    return response
