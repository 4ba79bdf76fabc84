"""The YCLIENTS sandbox follows the reference: signing, partner API answers, pagination caps, limits, faults."""
import base64
import datetime as dt
import hashlib
import hmac
import json
from urllib.parse import parse_qs, urlparse

import pytest

from sandbox.yclients.app import context_from_env, create_app
from sandbox.yclients.data import LARGE, SMALL, Catalog
from sandbox.yclients import webhooks

TOKEN = "partner-secret"
H = {"Authorization": f"Bearer {TOKEN}"}
D = {**H, "X-Partner-Id": "1"}  # data methods documented as Bearer+User also need our partner id (I-20)


@pytest.fixture
def client():
    app = create_app(context_from_env({"YCLIENTS_PARTNER_TOKEN": TOKEN, "YCLIENTS_APP_ID": "18289",
                                       "PUBLIC_BASE_URL": "http://ours.test", "YCLIENTS_RATE_LIMIT": "1000/s"}))
    return app.test_client()


def activate(client, salon_id=SMALL, **body):
    payload = {"salon_id": salon_id, "application_id": 18289, "api_key": "k" * 64,
               "webhook_urls": ["http://ours.test/webhook/yclients/abc"], **body}
    return client.post("/marketplace/partner/callback/redirect", json=payload, headers=H)


def test_connect_signs_user_data_like_yclients(client):
    response = client.get(f"/connect?salon_id={SMALL}")
    assert response.status_code == 302
    url = urlparse(response.headers["Location"])
    assert url.netloc == "ours.test" and url.path == "/auth/yclients/redirect"
    query = parse_qs(url.query)
    assert query["salon_id"] == [str(SMALL)]
    user_data = query["user_data"][0]
    assert "+" not in user_data and "/" not in user_data and len(user_data) % 4 == 0  # URL-safe, padded
    raw = base64.urlsafe_b64decode(user_data)
    user = json.loads(raw.decode("utf-8"))
    assert set(user) == {"id", "name", "phone", "email", "is_approved", "avatar", "salon_name"}
    assert query["user_data_sign"][0] == hmac.new(TOKEN.encode(), raw, hashlib.sha256).hexdigest()
    # Not the signature over the base64 text (the misleading PHP sample).
    assert query["user_data_sign"][0] != hmac.new(TOKEN.encode(), user_data.encode(), hashlib.sha256).hexdigest()


def test_multi_branch_connect_sends_indexed_salon_ids(client):
    response = client.get("/connect?salon_ids[0]=970001&salon_ids[1]=970002")
    query = parse_qs(urlparse(response.headers["Location"]).query)
    assert query["salon_ids[0]"] == ["970001"] and query["salon_ids[1]"] == ["970002"]
    assert "salon_id" not in query


def test_marketplace_page_lists_salons_with_a_connect_button(client):
    page = client.get("/").get_data(as_text=True)
    assert "Подключить" in page and str(SMALL) in page and "salon_ids%5B0%5D=970001" in page


def test_activation_answers_301_then_403_already_installed(client):
    first = activate(client)
    assert first.status_code == 301 and first.headers["Location"]
    second = activate(client)
    assert second.status_code == 403
    assert second.get_json()["meta"]["message"] == "Пользователь уже установил это приложение"
    status = client.get(f"/marketplace/salon/{SMALL}/application/18289", headers=H).get_json()
    assert status["data"]["connection_status"]["status"] == "active"
    assert client.get("/_sandbox/installs").get_json()["salons"][str(SMALL)]["webhook_urls"] == [
        "http://ours.test/webhook/yclients/abc"]


def test_activation_errors(client):
    assert client.post("/marketplace/partner/callback/redirect", json={}, headers={"Authorization": "Bearer x"}
                       ).status_code == 401
    assert activate(client, application_id=1).status_code == 422
    assert activate(client, salon_id=1).status_code == 422
    assert client.get("/marketplace/salon/997441/application/18289", headers=H).status_code == 404


def test_partner_uninstall_then_status(client):
    activate(client)
    assert client.post(f"/marketplace/salon/{SMALL}/application/18289/uninstall", headers=H).status_code == 200
    status = client.get(f"/marketplace/salon/{SMALL}/application/18289", headers=H).get_json()
    assert status["data"]["connection_status"]["status"] == "uninstalled"
    assert client.post(f"/marketplace/salon/{SMALL}/application/18289/uninstall", headers=H).status_code == 404


def test_forced_activation_answers_are_consumed_in_order(client):
    client.post("/_sandbox/faults", json={"activation": [500, "html", 301]})
    assert activate(client).status_code == 500
    html = activate(client)
    assert html.status_code == 502 and html.get_data(as_text=True).startswith("<!DOCTYPE html>")
    assert activate(client).status_code == 301


def test_forced_403_marks_the_salon_installed(client):
    client.post("/_sandbox/faults", json={"activation": [403]})
    assert activate(client).status_code == 403
    status = client.get(f"/marketplace/salon/{SMALL}/application/18289", headers=H).get_json()
    assert status["data"]["connection_status"]["status"] == "active"


def test_clients_are_capped_at_200_per_page_whatever_was_asked(client):
    body = client.post(f"/api/v1/company/{SMALL}/clients/search", json={"page": 1, "page_size": 1000},
                       headers=D).get_json()
    assert len(body["data"]) == 200 and body["meta"]["total_count"] == 1400
    last = client.post(f"/api/v1/company/{SMALL}/clients/search", json={"page": 7, "page_size": 200},
                       headers=D).get_json()
    assert len(last["data"]) == 200 and last["data"][-1]["id"] == body["data"][0]["id"] + 1399


def test_records_are_capped_and_filtered_by_the_date_window(client):
    today = dt.date.today()
    query = f"start_date={today - dt.timedelta(days=30)}&end_date={today + dt.timedelta(days=90)}"
    body = client.get(f"/api/v1/records/{SMALL}?page=1&count=5000&{query}", headers=D).get_json()
    assert len(body["data"]) == 200 and body["meta"]["total_count"] == 4000
    week = client.get(f"/api/v1/records/{SMALL}?page=1&count=50&start_date={today}&end_date={today}",
                      headers=D).get_json()
    assert 0 < week["meta"]["total_count"] < 100
    assert all(r["datetime"].startswith(today.isoformat()) for r in week["data"])


def test_data_needs_the_partner_token(client):
    assert client.get(f"/api/v1/company/{SMALL}").status_code == 401
    assert client.get("/api/v1/company/1", headers=H).status_code == 404


def test_generated_salons_are_deterministic_and_the_large_one_is_cheap():
    a, b = Catalog(dt.date(2026, 1, 1)).get(SMALL), Catalog(dt.date(2026, 1, 1)).get(SMALL)
    assert [a.record(i) for i in range(0, 4000, 397)] == [b.record(i) for i in range(0, 4000, 397)]
    assert len(a.services()) == 45 and len(a.staff()) == 10 and a.spec.clients == 1400
    large = Catalog(dt.date(2026, 1, 1)).get(LARGE)
    assert large.spec.clients == 20_000 and large.spec.records == 100_000
    full = large.record_range(dt.date(2025, 12, 2), dt.date(2026, 3, 31))
    assert len(full) == 100_000
    assert len({large.client(i)["id"] for i in range(0, 20_000, 7)}) == len(range(0, 20_000, 7))


def test_rate_limit_answers_429_with_retry_after_and_stats_count_every_arrival():
    app = create_app(context_from_env({"YCLIENTS_PARTNER_TOKEN": TOKEN, "YCLIENTS_RATE_LIMIT": "3/s,100/min"}))
    client = app.test_client()
    answers = [client.get(f"/api/v1/company/{SMALL}", headers=H) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert answers[3].headers["Retry-After"] == "1"
    stats = client.get("/_sandbox/stats").get_json()
    assert stats["max_per_1s"] == 5 and stats["max_per_60s"] == 5
    assert stats["total"] == 5 and stats["rejected_429"] == 2


def test_error_rate_and_html_faults():
    app = create_app(context_from_env({"YCLIENTS_PARTNER_TOKEN": TOKEN, "YCLIENTS_RATE_LIMIT": "1000/s"}))
    client = app.test_client()
    client.post("/_sandbox/faults", json={"error_rate": 1.0, "html_errors": True})
    answer = client.get(f"/api/v1/company/{SMALL}", headers=H)
    assert answer.status_code == 502 and "text/html" in answer.headers["Content-Type"]
    client.post("/_sandbox/faults", json={"error_rate": 0.5, "html_errors": False, "seed": 3})
    codes = [client.get(f"/api/v1/company/{SMALL}", headers=H).status_code for _ in range(40)]
    assert 5 < codes.count(500) < 35 and codes.count(200) > 5
    assert client.post("/_sandbox/faults", json={"nonsense": 1}).status_code == 400


def test_webhook_payloads_match_the_reference_shapes():
    data = Catalog().get(SMALL)
    record = webhooks.data_payload(data, "record", "update", SMALL * 10_000_000 + 5)
    assert set(record) == {"resource", "status", "company_id", "resource_id", "data", "created_at"}
    assert record["resource"] == "record" and record["data"]["id"] == record["resource_id"] == SMALL * 10_000_000 + 5
    assert {"datetime", "services", "staff", "client"} <= set(record["data"])
    deleted = webhooks.data_payload(data, "client", "delete", SMALL * 1_000_000 + 1)
    assert deleted["data"]["deleted"] is True
    assert webhooks.lifecycle_payload(SMALL, 18289, "uninstall", "t") == {
        "salon_id": SMALL, "application_id": 18289, "event": "uninstall", "partner_token": "t"}


def test_data_webhook_needs_a_registered_url(client):
    answer = client.post("/_sandbox/webhooks", json={"kind": "record", "status": "create", "salon_id": SMALL})
    assert answer.status_code == 400


# -- issue 15: the inconvenient parts of the real API ------------------------------------------------

def _clients(client, headers):
    return client.post(f"/api/v1/company/{SMALL}/clients/search", json={"page": 1, "page_size": 5}, headers=headers)


def test_user_methods_without_x_partner_id_get_403_not_specified(client):
    answer = _clients(client, H)
    assert answer.status_code == 403
    assert answer.get_json()["meta"]["message"] == "Не указан идентификатор партнера"
    assert client.get(f"/api/v1/records/{SMALL}?start_date=2026-01-01&end_date=2026-01-02",
                      headers=H).status_code == 403
    assert client.get(f"/api/v1/company/{SMALL}", headers=H).status_code == 200  # the card is a public method


def test_a_wrong_partner_id_or_an_uninstalled_salon_gets_403_no_rights(client):
    answer = _clients(client, {**H, "X-Partner-Id": "999"})
    assert answer.status_code == 403 and answer.get_json()["meta"]["message"] == "Нет прав на управление компанией"
    client.get(f"/connect?salon_id={SMALL}")
    assert activate(client).status_code == 301
    assert _clients(client, D).status_code == 200
    assert client.post(f"/marketplace/salon/{SMALL}/application/18289/uninstall", headers=H).status_code == 200
    assert _clients(client, D).get_json()["meta"]["message"] == "Нет прав на управление компанией"


def test_the_company_card_has_timezone_contacts_and_working_hours(client):
    from sandbox.yclients.data import URAL

    card = client.get(f"/api/v1/company/{URAL}", headers=H).get_json()["data"]
    assert card["timezone_name"] == "Asia/Yekaterinburg" and card["timezone"] == 5
    assert card["title"] == "Студия «Урал»" and card["phone"] and card["email"] and card["schedule"]
    record = client.get(f"/api/v1/records/{URAL}?start_date=2020-01-01&end_date=2040-01-01&count=1",
                        headers=D).get_json()["data"][0]
    assert record["datetime"].endswith("+05:00")


def test_faults_drop_total_count_and_record_offsets(client):
    client.post("/_sandbox/faults", json={"omit_total_count": True, "naive_datetimes": True})
    assert "total_count" not in _clients(client, D).get_json()["meta"]
    body = client.get(f"/api/v1/records/{SMALL}?start_date=2020-01-01&end_date=2040-01-01&count=1",
                      headers=D).get_json()
    assert "total_count" not in body["meta"]
    assert len(body["data"][0]["datetime"]) == 19 and "+" not in body["data"][0]["datetime"]


def test_staff_schedules_give_working_intervals_per_day(client):
    staff = client.get(f"/api/v1/company/{SMALL}/staff", headers=H).get_json()["data"]
    days = client.get(f"/api/v1/schedule/{SMALL}/{staff[0]['id']}/2026-03-01/2026-03-30", headers=D).get_json()
    assert len(days["data"]) == 30
    working = [d for d in days["data"] if d["is_working"]]
    assert 0 < len(working) < 30 and all(d["slots"] and "from" in d["slots"][0] for d in working)
    assert client.get(f"/api/v1/schedule/{SMALL}/{staff[0]['id']}/2026-03-01/2026-03-30",
                      headers=H).status_code == 403
    assert client.get(f"/api/v1/schedule/{SMALL}/1/2026-03-01/2026-03-30", headers=D).status_code == 404


def test_a_deleted_record_leaves_lists_and_comes_back_deleted_with_with_deleted(client):
    query = "start_date=2020-01-01&end_date=2040-01-01&count=200"
    first = client.get(f"/api/v1/records/{SMALL}?{query}", headers=D).get_json()
    victim = first["data"][3]["id"]
    assert client.post(f"/_sandbox/salons/{SMALL}/records/{victim}/delete").status_code == 200
    after = client.get(f"/api/v1/records/{SMALL}?{query}", headers=D).get_json()
    assert after["meta"]["total_count"] == first["meta"]["total_count"] - 1
    assert victim not in [r["id"] for r in after["data"]]
    changed = client.get(f"/api/v1/records/{SMALL}?{query}&changed_after=2030-01-01T00:00:00%2B00:00&with_deleted=1",
                         headers=D).get_json()
    assert changed["data"] == []
    recent = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)).isoformat(timespec="seconds")
    changed = client.get(f"/api/v1/records/{SMALL}", query_string={
        "start_date": "2020-01-01", "end_date": "2040-01-01", "changed_after": recent, "with_deleted": 1},
        headers=D).get_json()
    assert [(r["id"], r["deleted"]) for r in changed["data"]] == [(victim, True)]


def _status(client, salon_id=SMALL):
    return client.get(f"/marketplace/salon/{salon_id}/application/18289", headers=H)


def test_the_status_method_follows_connect_callback_uninstall_and_reinstall(client):
    assert _status(client).status_code == 404  # never installed: "Приложение не установлено в салоне"
    client.get(f"/connect?salon_id={SMALL}")
    pending = _status(client).get_json()["data"]
    assert pending["connection_status"]["status"] == "pending"
    assert pending["logs"][-1] == {**pending["logs"][-1], "status_from": "uninstalled", "status_to": "pending",
                                   "source": "marketplace"}
    assert activate(client).status_code == 301
    assert _status(client).get_json()["data"]["connection_status"]["status"] == "active"
    client.get(f"/connect?salon_id={SMALL}")  # pressing again on an installed application: still active
    assert _status(client).get_json()["data"]["connection_status"]["status"] == "active"
    assert client.post(f"/marketplace/salon/{SMALL}/application/18289/uninstall", headers=H).status_code == 200
    assert _status(client).get_json()["data"]["connection_status"]["status"] == "uninstalled"
    client.get(f"/connect?salon_id={SMALL}")
    assert _status(client).get_json()["data"]["connection_status"]["status"] == "pending"


def test_uninstalling_while_still_pending_leaves_it_uninstalled(client):
    client.get(f"/connect?salon_id={SMALL}")
    assert client.post(f"/marketplace/salon/{SMALL}/application/18289/uninstall", headers=H).status_code == 200
    assert _status(client).get_json()["data"]["connection_status"]["status"] == "uninstalled"


def test_the_status_method_needs_the_partner_token_and_our_application(client):
    client.get(f"/connect?salon_id={SMALL}")
    assert client.get(f"/marketplace/salon/{SMALL}/application/18289",
                      headers={"Authorization": "Bearer wrong"}).status_code == 401
    denied = client.get(f"/marketplace/salon/{SMALL}/application/1", headers=H)
    assert denied.status_code == 403 and denied.get_json()["meta"]["message"] == "Нет доступа к приложению"


@pytest.mark.parametrize("answer, status, json_body", [(403, 403, True), (404, 404, True), (503, 503, True),
                                                       ("html", 502, False)])
def test_the_status_method_can_be_denied_or_made_to_fail(client, answer, status, json_body):
    client.get(f"/connect?salon_id={SMALL}")
    client.post("/_sandbox/faults", json={"status_answer": answer})
    response = _status(client)
    assert response.status_code == status and response.is_json == json_body
    client.post("/_sandbox/faults", json={"status_answer": None})
    assert _status(client).status_code == 200


def test_connect_can_sign_for_another_user_of_the_salon(client):
    response = client.get(f"/connect?salon_id={SMALL}&user_id=7654321&user_name=Коллега")
    user_data = parse_qs(urlparse(response.headers["Location"]).query)["user_data"][0]
    user = json.loads(base64.urlsafe_b64decode(user_data))
    assert user["id"] == 7654321 and user["name"] == "Коллега" and user["salon_name"] == "KULTURA Малаховка"


def _generated_pages(client, salon_id, path, method="get", **params):
    """Every page of a list as the sandbox serves it (a fresh request each time)."""
    out, page = [], 1
    while True:
        if method == "post":
            body = client.post(path, json={"page": page, "page_size": 200}, headers=D).get_json()
        else:
            body = client.get(path, query_string={**params, "page": page, "count": 200}, headers=D).get_json()
        out.append(body)
        if len(body["data"]) < 200:
            return out
        page += 1


def test_pages_served_from_prerendered_items_are_the_generated_items_under_faults_and_deletions(client):
    """The rendered-once cache (sandbox/yclients/rendered.py) never changes an answer: same items as the
    generator, same envelope; a deleted record or the naive-datetimes fault is rendered afresh."""
    data = Catalog().get(SMALL)
    window = {"start_date": "2020-01-01", "end_date": "2040-01-01"}
    records_path, clients_path = f"/api/v1/records/{SMALL}", f"/api/v1/company/{SMALL}/clients/search"
    cold = _generated_pages(client, SMALL, records_path, **window)
    assert client.post("/_sandbox/prerender", json={"salon_id": SMALL}).get_json()["records"] == data.spec.records
    warm = _generated_pages(client, SMALL, records_path, **window)
    assert cold == warm and set(warm[0]) == {"success", "data", "meta"} and warm[0]["success"] is True
    assert [r for body in warm for r in body["data"]] == [data.record(i) for i in range(data.spec.records)]
    assert warm[0]["meta"] == {"page": 1, "total_count": data.spec.records}
    clients = _generated_pages(client, SMALL, clients_path, method="post")
    assert [c for body in clients for c in body["data"]] == [data.client(i) for i in range(data.spec.clients)]

    victim = warm[0]["data"][3]["id"]
    assert client.post(f"/_sandbox/salons/{SMALL}/records/{victim}/delete").status_code == 200
    client.post("/_sandbox/faults", json={"naive_datetimes": True, "omit_total_count": True})
    page = client.get(records_path, query_string={**window, "count": 200, "with_deleted": 1}, headers=D).get_json()
    assert page["meta"] == {"page": 1}
    assert page["data"][3]["id"] == victim and page["data"][3]["deleted"] is True
    assert all("+" not in r["datetime"] and "T" not in r["datetime"] for r in page["data"])
    client.post("/_sandbox/faults", json={"naive_datetimes": False})
    page = client.get(records_path, query_string={**window, "count": 200}, headers=D).get_json()
    assert victim not in [r["id"] for r in page["data"]] and page["data"][0] == data.record(0)
