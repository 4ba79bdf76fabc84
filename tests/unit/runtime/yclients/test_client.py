"""The YCLIENTS client: headers, envelope, error classes, in-process retries, no redirect following."""
import pytest
import urllib3

from runtime.yclients.client import YclientsClient
from runtime.yclients.errors import PermanentError, RateLimited, TransientError
from tests.fakes.yclients_http import FakeResponse, FakeSession, Limiter, make, ok


def test_headers_timeout_and_envelope():
    client, session, _, limiter = make(ok({"id": 1}, {"total_count": 1}), user_token="user-tok")
    reply = client.request("GET", "/api/v1/company/1")
    assert reply.data == {"id": 1} and reply.meta == {"total_count": 1}
    _, url, kw = session.calls[0]
    assert url == "http://yc/api/v1/company/1"
    assert kw["headers"]["Authorization"] == "Bearer partner-tok, User user-tok"
    assert kw["headers"]["Accept"] == "application/vnd.yclients.v2+json"
    assert kw["timeout"] == 3
    assert limiter.count == 1


def test_data_calls_send_the_partner_id_and_marketplace_calls_do_not():
    client, session, _, _ = make(ok({}), ok({}), user_token="user-tok", partner_id="4242")
    client.request("GET", "/api/v1/company/1")
    client.request("GET", "/marketplace/salon/1/application/2", user_auth=False)
    data, marketplace = session.calls[0][2]["headers"], session.calls[1][2]["headers"]
    assert data["X-Partner-Id"] == "4242" and data["Authorization"] == "Bearer partner-tok, User user-tok"
    assert "X-Partner-Id" not in marketplace and marketplace["Authorization"] == "Bearer partner-tok"


def test_401_and_403_are_access_denied_and_never_retried():
    from runtime.yclients.errors import AccessDenied

    for status, message in ((401, "Необходима авторизация"), (403, "Нет прав на управление компанией")):
        client, session, _, _ = make(FakeResponse(status, {"success": False, "data": None,
                                                           "meta": {"message": message}}))
        with pytest.raises(AccessDenied) as caught:
            client.request("POST", "/api/v1/company/1/clients/search", json={})
        assert isinstance(caught.value, PermanentError) and caught.value.message == message
        assert len(session.calls) == 1


def test_marketplace_calls_send_only_the_partner_bearer():
    client, session, _, _ = make(ok(None), user_token="user-tok")
    client.request("GET", "/marketplace/x", user_auth=False)
    assert session.calls[0][2]["headers"]["Authorization"] == "Bearer partner-tok"


def test_a_redirect_is_returned_not_followed():
    client, session, _, _ = make(FakeResponse(301, text="", headers={"Location": "https://yclients.com/x"}))
    reply = client.request("POST", "/marketplace/partner/callback/redirect", json={}, allow_redirects=False)
    assert reply.status == 301 and reply.location == "https://yclients.com/x"
    assert session.calls[0][2]["allow_redirects"] is False


def test_429_waits_retry_after_then_succeeds():
    client, session, sleeps, limiter = make(
        FakeResponse(429, {"success": False, "meta": {"message": "slow"}}, headers={"Retry-After": "7"}), ok([1]))
    assert client.request("GET", "/api/v1/x").data == [1]
    assert sleeps == [7.0]
    assert limiter.count == 2  # the retry took budget too


def test_5xx_and_network_errors_back_off_with_jitter_then_raise_transient():
    client, _, sleeps, _ = make(FakeResponse(500, {"success": False, "meta": {}}),
                                urllib3.exceptions.ProtocolError("connection reset"), FakeResponse(503, {"success": False}))
    with pytest.raises(TransientError):
        client.request("GET", "/api/v1/x")
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0


def test_html_body_is_a_clear_transient_error_with_a_redacted_snippet(caplog):
    html = "<!DOCTYPE html><html><body>Bad gateway token=abcdef123456</body></html>"
    client, _, _, _ = make(FakeResponse(502, text=html), attempts=1)
    with pytest.raises(TransientError) as info:
        client.request("GET", "/api/v1/x")
    assert "non-JSON" in str(info.value)
    assert "<!DOCTYPE" in info.value.body and "abcdef123456" not in info.value.body
    assert "abcdef123456" not in caplog.text


def test_html_on_200_is_an_error_not_a_crash():
    client, _, _, _ = make(FakeResponse(200, text="<html>hi</html>"), attempts=1)
    with pytest.raises(TransientError):
        client.request("GET", "/api/v1/x")


@pytest.mark.parametrize("status", [401, 403, 404, 422])
def test_4xx_is_permanent_and_not_retried(status):
    client, session, sleeps, _ = make(FakeResponse(status, {"success": False, "meta": {"message": "нет"}}))
    with pytest.raises(PermanentError) as info:
        client.request("GET", "/api/v1/x")
    assert info.value.status == status and info.value.message == "нет"
    assert len(session.calls) == 1 and sleeps == []


def test_429_after_the_last_attempt_raises_rate_limited_with_retry_after():
    client, _, _, _ = make(FakeResponse(429, {"success": False}, headers={"Retry-After": "3"}), attempts=1)
    with pytest.raises(RateLimited) as info:
        client.request("GET", "/api/v1/x")
    assert info.value.retry_after == 3.0
