"""Helpers for the marketplace/onboarding tests: signed redirect URLs like YCLIENTS sends, a recording job queue."""
from __future__ import annotations

from urllib.parse import urlencode

from web.marketplace import userdata

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


class FakeMarketplace:
    """YCLIENTS' application-status and company-title answers for the install check, with a call log.

    `statuses` maps a salon id to what YCLIENTS says (pending, active, uninstalled, not_installed, …);
    unknown ids get `default`. `titles` maps a salon id to its company title (None: YCLIENTS gives none).
    `error` (an exception) is raised by every call, as an unreachable YCLIENTS would.
    """

    def __init__(self, statuses: dict | None = None, titles: dict | None = None, default: str = "pending"):
        self.statuses = dict(statuses or {})
        self.titles = dict(titles or {})
        self.default = default
        self.error: Exception | None = None
        self.calls: list[tuple] = []

    def installation_status(self, salon_id):
        self.calls.append(("status", int(salon_id)))
        if self.error is not None:
            raise self.error
        return self.statuses.get(int(salon_id), self.default)

    def company_title(self, salon_id):
        self.calls.append(("title", int(salon_id)))
        if self.error is not None:
            raise self.error
        return self.titles.get(int(salon_id))


class RecordingJobs:
    """Records what would be enqueued, and what the database held at that moment (enqueue-after-commit).

    `verify_install` is answered at once, as the worker would, against `marketplace` (a FakeMarketplace;
    by default YCLIENTS confirms every branch as pending and gives no title); it is listed in `checks`,
    not in `sent`. With `answer_checks=False` the check stays unanswered (the page keeps "checking").
    """

    def __init__(self, database=None, fail: bool = False, marketplace: FakeMarketplace | None = None,
                 answer_checks: bool = True):
        self.sent: list[tuple] = []
        self.checks: list[str] = []
        self.database = database
        self.fail = fail
        self.rows_seen: list = []
        self.marketplace = marketplace or FakeMarketplace()
        self.answer_checks = answer_checks

    def send(self, actor_name, *args, **kwargs):
        if self.fail:
            import redis

            raise redis.ConnectionError("broker down")
        if actor_name == "verify_install":
            self.checks.append(args[0])
            if self.answer_checks:
                from web.context import ctx
                from workers.onboarding.install_check import check_install

                check_install(self.marketplace, ctx().redis, args[0])
            return
        if self.database is not None and actor_name == "start_whatsapp_session":
            # Read through a separate connection: only committed rows are visible there.
            self.rows_seen.append(self._committed_salon(args[0]))
        self.sent.append((actor_name, *args))

    def _committed_salon(self, salon_id):
        import threading

        from models.salon import Salon

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
