"""The endpoint layer: request shapes from the reference, and pagination until total_count."""
import logging

import pytest

from tests.fakes.yclients_http import FakeResponse, make, ok
from runtime.yclients.api import Page, YclientsApi, pages
from runtime.yclients.errors import AccessDenied


def test_activation_callback_body_and_no_redirect_following():
    client, session, _, _ = make(FakeResponse(301, text="", headers={"Location": "https://yc/next"}),
                                 user_token="u")
    reply = YclientsApi(client, 18289).activation_callback(962302, "ab" * 32, ["https://us/webhook/yclients/k"])
    method, url, kw = session.calls[0]
    assert (method, url) == ("POST", "http://yc/marketplace/partner/callback/redirect")
    assert kw["json"] == {"salon_id": 962302, "application_id": 18289, "api_key": "ab" * 32,
                          "webhook_urls": ["https://us/webhook/yclients/k"]}
    assert kw["allow_redirects"] is False and kw["headers"]["Authorization"] == "Bearer partner-tok"
    assert reply.location == "https://yc/next"


def test_integration_status_active_and_not_installed():
    client, session, _, _ = make(ok({"connection_status": {"status": "active"}}),
                                 FakeResponse(404, {"success": False, "meta": {"message": "Приложение не установлено"}}))
    api = YclientsApi(client, 18289)
    assert api.is_installed_and_active(962302) is True
    assert session.calls[0][1] == "http://yc/marketplace/salon/962302/application/18289"
    assert api.is_installed_and_active(962302) is False


def test_clients_search_asks_for_200_per_page():
    client, session, _, _ = make(ok([{"id": 1}], {"total_count": 1}))
    page = YclientsApi(client, 1).clients_page(5, 3)
    method, url, kw = session.calls[0]
    assert (method, url) == ("POST", "http://yc/api/v1/company/5/clients/search")
    assert kw["json"]["page"] == 3 and kw["json"]["page_size"] == 200
    assert page.items == [{"id": 1}] and page.total == 1


def test_records_page_params_including_changed_after():
    client, session, _, _ = make(ok([], {"total_count": 0}))
    YclientsApi(client, 1).records_page(5, 2, "2026-01-01", "2026-04-01", changed_after="2026-01-02T00:00:00+00:00")
    _, url, kw = session.calls[0]
    assert url == "http://yc/api/v1/records/5"
    # An incremental read asks for deleted records too: that is how it learns about deletions.
    assert kw["params"] == {"page": 2, "count": 200, "start_date": "2026-01-01", "end_date": "2026-04-01",
                            "changed_after": "2026-01-02T00:00:00+00:00", "with_deleted": 1}


def test_a_full_records_read_does_not_ask_for_deleted_records():
    client, session, _, _ = make(ok([], {"total_count": 0}))
    YclientsApi(client, 1).records_page(5, 1, "2026-01-01", "2026-04-01")
    assert "with_deleted" not in session.calls[0][2]["params"]


def test_a_missing_total_count_is_unknown_not_zero():
    client, _, _, _ = make(ok([{"id": 1}], {"page": 1}))
    assert YclientsApi(client, 1).clients_page(5, 1).total is None


def test_without_total_count_pages_continue_while_full_and_stop_on_a_short_page():
    sizes = {1: 200, 2: 200, 3: 37}
    got = list(pages(lambda n: Page(n, [0] * sizes.get(n, 0), None, 200)))
    assert [p.number for p in got] == [1, 2, 3] and [p.last for p in got] == [False, False, True]


def test_without_total_count_an_exactly_full_last_page_ends_on_the_empty_one():
    got = list(pages(lambda n: Page(n, [0] * (200 if n <= 2 else 0), None, 200)))
    assert [p.number for p in got] == [1, 2, 3] and got[-1].last


def test_endless_full_pages_stop_at_the_cap_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="aiadmin.yclients"):
        got = list(pages(lambda n: Page(n, [0] * 200, None, 200), max_pages=7))
    assert len(got) == 7 and got[-1].last
    assert "cap was reached" in caplog.text


def test_staff_schedule_path_and_data_headers():
    client, session, _, _ = make(ok([{"date": "2026-01-01", "is_working": 1, "slots": []}]), partner_id="4242")
    days = YclientsApi(client, 1).staff_schedule(5, 77, "2026-01-01", "2026-01-30")
    method, url, kw = session.calls[0]
    assert (method, url) == ("GET", "http://yc/api/v1/schedule/5/77/2026-01-01/2026-01-30")
    assert kw["headers"]["X-Partner-Id"] == "4242" and days[0]["is_working"] == 1


def test_partner_uninstall_is_a_marketplace_call_and_404_means_already_uninstalled():
    client, session, _, _ = make(ok(None), FakeResponse(404, {"success": False, "data": None,
                                                              "meta": {"message": "Приложение не установлено"}}),
                                 partner_id="4242", user_token="u")
    api = YclientsApi(client, 18289)
    assert api.uninstall(962302) is True
    method, url, kw = session.calls[0]
    assert (method, url) == ("POST", "http://yc/marketplace/salon/962302/application/18289/uninstall")
    assert kw["headers"]["Authorization"] == "Bearer partner-tok" and "X-Partner-Id" not in kw["headers"]
    assert api.uninstall(962302) is False


def test_a_403_on_data_is_access_denied_with_the_yclients_message():
    client, _, _, _ = make(FakeResponse(403, {"success": False, "data": None,
                                              "meta": {"message": "Не указан идентификатор партнера"}}))
    with pytest.raises(AccessDenied) as caught:
        YclientsApi(client, 1).clients_page(5, 1)
    assert caught.value.status == 403 and caught.value.message == "Не указан идентификатор партнера"


def test_pages_follow_total_count_whatever_the_page_size():
    sizes = {1: 50, 2: 50, 3: 20}
    got = list(pages(lambda n: Page(n, [0] * sizes.get(n, 0), 120)))
    assert [p.number for p in got] == [1, 2, 3]


def test_pages_stop_on_an_empty_page_even_below_total():
    got = list(pages(lambda n: Page(n, [0] * (10 if n == 1 else 0), 500)))
    assert [p.number for p in got] == [1, 2]


def test_pages_have_no_cap():
    got = list(pages(lambda n: Page(n, [0] * 200, 200 * 120)))
    assert len(got) == 120  # the old code stopped at 50 pages = 10,000 clients


def test_installation_status_reads_connection_status_and_maps_404_and_403():
    client, session, _, limiter = make(
        ok({"logs": [], "payments": [], "connection_status": {"status": "Pending", "created_at": "2026-01-01"}}),
        FakeResponse(404, {"success": False, "data": None, "meta": {"message": "Приложение не установлено в салоне"}}),
        FakeResponse(403, {"success": False, "data": None, "meta": {"message": "Нет доступа к приложению"}}),
        ok({"logs": []}))
    api = YclientsApi(client, 18289)
    assert [api.installation_status(962302) for _ in range(4)] == ["pending", "not_installed", "forbidden", "unknown"]
    assert session.calls[0][1] == "http://yc/marketplace/salon/962302/application/18289"
    assert session.calls[0][2]["headers"]["Authorization"] == "Bearer partner-tok"  # partner token only
    assert limiter.count == 4  # every call through the shared budget


def test_installation_status_lets_transient_and_other_permanent_errors_through():
    import pytest

    from runtime.yclients.errors import PermanentError, TransientError

    client, _, _, _ = make(FakeResponse(502, text="<html>bad gateway</html>"), FakeResponse(401, {"success": False}),
                           attempts=1)
    api = YclientsApi(client, 18289)
    with pytest.raises(TransientError):
        api.installation_status(1)
    with pytest.raises(PermanentError):
        api.installation_status(1)


def test_company_title_or_none_when_yclients_does_not_give_it():
    client, session, _, _ = make(ok({"id": 5, "title": "KULTURA Малаховка"}), FakeResponse(403, {"success": False}),
                                 ok({"id": 5, "title": ""}))
    api = YclientsApi(client, 1)
    assert [api.company_title(5) for _ in range(3)] == ["KULTURA Малаховка", None, None]
    assert session.calls[0][1] == "http://yc/api/v1/company/5"


def test_the_interactive_api_gives_up_fast_on_the_same_shared_budget(settings, redis_client):
    from runtime.yclients.api import INTERACTIVE_ATTEMPTS, api_from_settings, interactive_api_from_settings

    interactive = interactive_api_from_settings(settings, redis_client)
    normal = api_from_settings(settings, redis_client)
    assert interactive.client.limiter.key == normal.client.limiter.key  # one budget for every process and job
    assert interactive.client.limiter.max_wait <= 5 < normal.client.limiter.max_wait
    assert interactive.client.timeout <= 5 and interactive.client.attempts == INTERACTIVE_ATTEMPTS


def test_replies_are_read_from_their_bytes_and_other_charsets_as_requests_reads_them():
    from urllib3 import HTTPHeaderDict

    from runtime.yclients.client import _json
    from runtime.yclients.transport import Answer

    def response(body: bytes, content_type: str):
        return Answer(200, HTTPHeaderDict({"Content-Type": content_type}), body)

    text = '{"data": [{"name": "Анна"}], "meta": {"total_count": 1}}'
    assert _json(response(text.encode(), "application/json")) == {"data": [{"name": "Анна"}], "meta": {"total_count": 1}}
    assert _json(response(text.encode("cp1251"), "application/json; charset=windows-1251"))["data"][0]["name"] == "Анна"
    assert _json(response(b"<html>502</html>", "text/html")) is None
    assert _json(response(b'{"a": NaN}', "application/json"))["a"] != 0


def _pager(total=5, size=2, fail_at=None, started=None):
    calls = []

    def fetch(number):
        calls.append(number)
        if started is not None and number in started:
            started[number].set()
        if number == fail_at:
            raise RuntimeError(f"page {number} failed")
        first = (number - 1) * size
        return Page(number, list(range(first, min(first + size, total))), total, size)

    return fetch, calls


def test_prefetched_pages_are_the_same_pages_in_order_and_none_past_the_last():
    from runtime.yclients.api import pages

    plain_fetch, plain_calls = _pager()
    ahead_fetch, ahead_calls = _pager()
    plain = [(p.number, p.items, p.last) for p in pages(plain_fetch)]
    ahead = [(p.number, p.items, p.last) for p in pages(ahead_fetch, prefetch=True)]
    assert ahead == plain == [(1, [0, 1], False), (2, [2, 3], False), (3, [4], True)]
    assert ahead_calls == plain_calls == [1, 2, 3]


def test_the_next_page_is_fetched_while_the_caller_still_handles_this_one():
    import threading

    from runtime.yclients.api import pages

    started = {2: threading.Event()}
    fetch, calls = _pager(started=started)
    listing = pages(fetch, prefetch=True)
    first = next(listing)
    assert first.number == 1
    assert started[2].wait(timeout=10), "page 2 was not asked for while page 1 was being handled"
    listing.close()  # a caller that stops early: nothing beyond the one page ahead
    assert calls == [1, 2]


def test_a_failing_next_page_surfaces_after_the_page_before_it():
    from runtime.yclients.api import pages

    fetch, _ = _pager(total=10, fail_at=3)
    seen = []
    with pytest.raises(RuntimeError, match="page 3 failed"):
        for page in pages(fetch, prefetch=True):
            seen.append(page.number)
    assert seen == [1, 2]
