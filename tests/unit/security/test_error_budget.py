"""5xx and 413 answers count toward a per-address budget: past it the address gets 429 before its request is
handled, on every route, while other addresses and our own outages (503) are not affected."""
from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
import redis as redis_lib

from models.live import LiveStatus
from tests.fakes.fuzz import row_counts
from tests.fakes.onboarding import ReopeningClient
from tests.support import container_for
from web import create_app, error_budget
from web.marketplace.ratelimit import PREFIX

SALON = 962302
_, LIMIT, WINDOW = error_budget.BUDGET


def _from(ip: str) -> dict:
    return {"environ_overrides": {"REMOTE_ADDR": "127.0.0.1"}, "headers": {"X-Forwarded-For": ip}}


@pytest.fixture
def exploding(web_app):
    """A route that fails the way an unforeseen input would: an exception the handlers turn into a 500."""
    def boom():
        raise RuntimeError("unforeseen input")

    web_app.add_url_rule("/webhook/boom", "boom", boom, methods=["POST"])
    return web_app


def test_an_address_causing_500s_is_cut_off_with_429_and_others_are_not(exploding, client):
    statuses = [client.post("/webhook/boom", json={}, **_from("198.51.100.7")).status_code for _ in range(LIMIT + 3)]
    assert statuses == [500] * LIMIT + [429] * 3
    refused = client.post("/webhook/yclients", json={"event": "uninstall", "salon_id": SALON},
                          **_from("198.51.100.7"))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) == WINDOW  # every route, not one
    assert client.post("/webhook/boom", json={}, **_from("203.0.113.20")).status_code == 500


def test_oversized_webhook_bodies_count_toward_the_budget(client, jobs):
    big = json.dumps({"resource": "record", "company_id": SALON, "data": "x" * (300 * 1024)})
    statuses = [client.post("/webhook/yclients", data=big, content_type="application/json",
                            **_from("198.51.100.7")).status_code for _ in range(LIMIT + 2)]
    assert statuses == [413] * LIMIT + [429] * 2
    before = row_counts()
    assert client.post("/webhook/yclients", json={"event": "x"}, **_from("198.51.100.7")).status_code == 429
    assert row_counts() == before and not jobs.sent


def test_our_own_outage_503_does_not_count(web_app, client):
    def outage():
        import peewee

        raise peewee.OperationalError("database is down")

    web_app.add_url_rule("/webhook/outage", "outage", outage, methods=["POST"])
    statuses = {client.post("/webhook/outage", json={}, **_from("198.51.100.7")).status_code
                for _ in range(LIMIT + 5)}
    assert statuses == {503}


def test_health_probes_are_never_cut_off(exploding, client):
    for _ in range(LIMIT):
        client.post("/webhook/boom", json={}, **_from("198.51.100.7"))
    assert client.get("/healthz", **_from("198.51.100.7")).status_code == 200
    assert client.get("/marketplace/health", **_from("198.51.100.7")).status_code == 200


def test_a_cut_off_browser_gets_a_russian_page(exploding, client):
    for _ in range(LIMIT):
        client.post("/webhook/boom", json={}, **_from("198.51.100.7"))
    page = client.get("/marketplace/onboarding", headers={"X-Forwarded-For": "198.51.100.7", "Accept": "text/html"},
                      environ_overrides={"REMOTE_ADDR": "127.0.0.1"})
    assert page.status_code == 429 and "Слишком много попыток" in page.get_data(as_text=True)


def test_which_answers_count_toward_the_budget():
    assert error_budget.counts(500) and error_budget.counts(413) and error_budget.counts(502)
    assert not error_budget.counts(503) and not error_budget.counts(429) and not error_budget.counts(400)


class CountingRedis(redis_lib.Redis):
    """A real client that counts the commands (round trips) it sends."""

    commands: list

    def execute_command(self, *args, **options):
        self.commands.append(args[0])
        return super().execute_command(*args, **options)


def test_the_redirect_looks_at_the_budget_and_hits_its_own_limit_in_one_redis_round_trip(settings, database,
                                                                                        redis_url, jobs):
    counting = CountingRedis.from_url(redis_url)
    counting.commands = []
    app = create_app(settings, container=container_for(settings=settings, database=database, redis=counting,
                                                       jobs=jobs, live=LiveStatus(counting)))
    client = ReopeningClient(app.test_client(), database)
    forged = urlencode({"salon_id": SALON, "user_data": "e30=", "user_data_sign": "0" * 64})
    client.get(f"/auth/yclients/redirect?{forged}", **_from("203.0.113.20"))  # the script is loaded once
    counting.commands.clear()
    assert client.get(f"/auth/yclients/redirect?{forged}", **_from("198.51.100.7")).status_code == 403
    assert counting.commands == ["EVALSHA"]  # was ZCOUNT (the app's hook) + the limit's script
    counting.close()


def test_a_signed_redirect_looks_at_the_budget_hits_its_limit_and_opens_its_check_in_one_redis_round_trip(
        settings, database, redis_url, monkeypatch):
    from tests.fakes.onboarding import RecordingJobs, signed_query
    from web.marketplace import verification

    monkeypatch.setattr(verification, "WAIT_SECONDS", 0.0)  # nobody answers: the checking page, no blocking wait
    counting = CountingRedis.from_url(redis_url)
    counting.commands = []
    jobs = RecordingJobs(database, answer_checks=False)
    app = create_app(settings, container=container_for(settings=settings, database=database, redis=counting,
                                                       jobs=jobs, live=LiveStatus(counting)))
    client = ReopeningClient(app.test_client(), database)
    token = settings.yclients_partner_token
    client.get(f"/auth/yclients/redirect?{signed_query(token, salon_ids=(962301,))}", **_from("203.0.113.20"))
    counting.commands.clear()  # the script is loaded once
    page = client.get(f"/auth/yclients/redirect?{signed_query(token)}", **_from("198.51.100.7"))
    assert page.status_code == 200 and len(jobs.checks) == 2
    # Budget, address limit, check limits and the stored request: one script (was two: the budget and the
    # address limit, then the gate), then the verdict's read.
    assert counting.commands == ["EVALSHA", "GET"]
    assert redis_lib.Redis.from_url(redis_url).zcard(PREFIX + "redirect:ip:198.51.100.7") == 1
    counting.close()


def test_a_signed_redirect_past_the_budget_gets_the_budget_429_and_opens_no_check(exploding, client, settings,
                                                                                    jobs, redis_client):
    from tests.fakes.onboarding import signed_query

    for _ in range(LIMIT):
        client.post("/webhook/boom", json={}, **_from("198.51.100.7"))
    before = row_counts()
    refused = client.get(f"/auth/yclients/redirect?{signed_query(settings.yclients_partner_token)}",
                         **_from("198.51.100.7"))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) == WINDOW
    assert "слишком много ошибочных запросов" in refused.get_data(as_text=True)
    assert not jobs.checks and row_counts() == before
    assert not redis_client.exists(PREFIX + "redirect:ip:198.51.100.7")  # nothing hit past the budget


def test_a_redirect_past_the_budget_gets_the_budget_429_and_counts_against_no_redirect_limit(exploding, client,
                                                                                           redis_client):
    for _ in range(LIMIT):
        client.post("/webhook/boom", json={}, **_from("198.51.100.7"))
    forged = urlencode({"salon_id": SALON, "user_data": "e30=", "user_data_sign": "0" * 64})
    refused = client.get(f"/auth/yclients/redirect?{forged}", **_from("198.51.100.7"))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) == WINDOW
    assert "слишком много ошибочных запросов" in refused.get_data(as_text=True)
    assert not redis_client.exists(PREFIX + "redirect:ip:198.51.100.7")
    assert client.get(f"/auth/yclients/redirect?{forged}", **_from("203.0.113.20")).status_code == 403


def test_a_misconfigured_redirect_still_refuses_a_spent_budget_first(settings, database, redis_client, jobs):
    broken = settings.replace(yclients_partner_token="")
    app = create_app(broken, container=container_for(settings=broken, database=database, redis=redis_client,
                                                     jobs=jobs, live=LiveStatus(redis_client)))
    app.add_url_rule("/webhook/boom", "boom", lambda: 1 / 0, methods=["POST"])
    client = ReopeningClient(app.test_client(), database)
    for _ in range(LIMIT):
        client.post("/webhook/boom", json={}, **_from("198.51.100.7"))
    assert client.get("/auth/yclients/redirect?salon_id=1", **_from("198.51.100.7")).status_code == 429
    assert client.get("/auth/yclients/redirect?salon_id=1", **_from("203.0.113.20")).status_code == 503
    assert not redis_client.keys(PREFIX + "redirect:*")  # a misconfigured deployment counts no request
