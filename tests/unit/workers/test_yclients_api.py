"""The endpoint layer: request shapes from the reference, and pagination until total_count."""
from tests.unit.workers.test_yclients_client import FakeResponse, make, ok
from workers.yclients.api import Page, YclientsApi, pages


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
    assert kw["params"] == {"page": 2, "count": 200, "start_date": "2026-01-01", "end_date": "2026-04-01",
                            "changed_after": "2026-01-02T00:00:00+00:00"}


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
