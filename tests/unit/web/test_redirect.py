"""The registration redirect: signature (no bypass), every branch recorded, no downgrade, jobs after commit."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from models import salon as s
from models.live import LiveStatus
from models.salon import Salon
from models.timeline import TimelineEvent
from tests.onboarding_support import SAMPLE_USER, RecordingJobs, ReopeningClient, signed_query
from web import create_app
from web.context import WebContext
from web.marketplace import tokens

PATH = "/auth/yclients/redirect"


@pytest.fixture
def jobs(database):
    return RecordingJobs(database)


@pytest.fixture
def app(settings, database, redis_client, jobs):
    context = WebContext(settings=settings, database=database, redis=redis_client, jobs=jobs,
                         live=LiveStatus(redis_client))
    return create_app(settings, context=context)


@pytest.fixture
def client(app, database):
    return ReopeningClient(app.test_client(), database)


def link_claims(response, settings):
    assert response.status_code == 302, response.get_data(as_text=True)
    location = urlparse(response.headers["Location"])
    assert location.path == "/marketplace/onboarding"
    token = parse_qs(location.query)["token"][0]
    return tokens.verify(settings.jwt_secret, token, tokens.LINK)


def nothing_written(jobs):
    return Salon.select().count() == 0 and TimelineEvent.select().count() == 0 and jobs.sent == []


@pytest.mark.parametrize("urlsafe", [True, False])
def test_a_valid_signature_in_either_base64_alphabet_registers_the_salon(client, settings, jobs, urlsafe):
    # Cyrillic makes the URL-safe form contain '-'/'_' (plain b64decode would corrupt it: incident I-1/§1.4).
    user = {**SAMPLE_USER, "name": "Ёлкина Юлия Щ.", "salon_name": "Барбершоп «Культура» Малаховка ~~~>>>???"}
    response = client.get(f"{PATH}?{signed_query(settings.yclients_partner_token, user=user, urlsafe=urlsafe)}")
    claims = link_claims(response, settings)
    assert claims.salon_ids == (962302,) and claims.installer_id == 1234567 and claims.jti
    salon = Salon.get_by_id(962302)
    assert salon.state == s.PENDING_WHATSAPP
    assert salon.title == "Барбершоп «Культура» Малаховка ~~~>>>???"
    assert salon.installer_name == "Ёлкина Юлия Щ."
    assert salon.installer_phone == "79001234567"  # 8… normalised to 7…
    assert salon.installer_email == "owner@example.com"
    assert [e.kind for e in TimelineEvent.select()] == ["registration_started"]
    assert jobs.sent == [("start_whatsapp_session", 962302)]


def test_the_user_data_sample_with_url_safe_characters_really_needs_normalising(settings):
    from web.marketplace import userdata

    encoded = userdata.encode({**SAMPLE_USER, "name": "Ёлкина ?>?>"}, urlsafe=True)
    assert "-" in encoded or "_" in encoded  # the sample exercises the URL-safe alphabet
    # '+' turned into ' ' by a form-decoding proxy, padding lost: still decodes to the same bytes.
    mangled = encoded.replace("-", "+").replace("+", " ").rstrip("=")
    assert userdata.decode(mangled) == userdata.decode(encoded)


def test_the_session_job_is_enqueued_only_after_the_commit(client, settings, jobs):
    client.get(f"{PATH}?{signed_query(settings.yclients_partner_token)}")
    assert jobs.rows_seen == [True]  # another connection already saw the committed salon row


@pytest.mark.parametrize("form", ["salon_id", "array", "indexed"])
def test_every_branch_of_a_multi_branch_install_is_recorded(client, settings, jobs, form):
    query = signed_query(settings.yclients_partner_token, salon_ids=(501, 502, 503), form=form)
    claims = link_claims(client.get(f"{PATH}?{query}"), settings)
    assert claims.salon_ids == (501, 502, 503)
    salons = list(Salon.select().order_by(Salon.salon_id))
    assert [x.salon_id for x in salons] == [501, 502, 503]
    assert len({x.install_group for x in salons}) == 1 and salons[0].install_group
    assert sorted(jobs.sent) == [("start_whatsapp_session", 501), ("start_whatsapp_session", 502),
                                 ("start_whatsapp_session", 503)]


def test_indexed_branches_keep_their_index_order(client, settings):
    query = "salon_ids[1]=702&salon_ids[0]=701&" + signed_query(settings.yclients_partner_token, salon_ids=(),
                                                                 form="none")
    assert link_claims(client.get(f"{PATH}?{query}"), settings).salon_ids == (701, 702)


@pytest.mark.parametrize("case", ["forged", "other_key", "missing_sign", "missing_user_data", "no_user_data_at_all",
                                  "sign_of_base64_string", "tampered_user_data"])
def test_a_bad_or_missing_signature_is_refused_with_403_and_writes_nothing(client, settings, jobs, case):
    token = settings.yclients_partner_token
    good = signed_query(token)
    from urllib.parse import parse_qsl, urlencode

    params = dict(parse_qsl(good))
    if case == "forged":
        params["user_data_sign"] = "0" * 64
    elif case == "other_key":
        params = dict(parse_qsl(signed_query(token, key="someone-elses-partner-token")))
    elif case == "missing_sign":
        params.pop("user_data_sign")
    elif case == "missing_user_data":
        params.pop("user_data")
    elif case == "no_user_data_at_all":  # S-2: ?salon_id=N alone used to pass
        params = {"salon_id": "962302"}
    elif case == "sign_of_base64_string":  # the misleading PHP sample in the YCLIENTS doc (I-1)
        import hashlib
        import hmac

        params["user_data_sign"] = hmac.new(token.encode(), params["user_data"].encode(), hashlib.sha256).hexdigest()
    elif case == "tampered_user_data":
        from web.marketplace import userdata

        params["user_data"] = userdata.encode({**SAMPLE_USER, "id": 1})
    response = client.get(f"{PATH}?{urlencode(params)}")
    body = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Ошибка безопасности" in body and "https://yclients.com/marketplace" in body
    assert "Traceback" not in body
    assert nothing_written(jobs)


def test_a_missing_partner_token_answers_503_configuration_incomplete(settings, database, redis_client, jobs):
    for placeholder in ("", "test_token_waiting_for_real"):
        broken = settings.replace(yclients_partner_token=placeholder)
        app = create_app(broken, context=WebContext(settings=broken, database=database, redis=redis_client,
                                                    jobs=jobs, live=LiveStatus(redis_client)))
        response = ReopeningClient(app.test_client(), database).get(f"{PATH}?{signed_query(placeholder or 'x')}")
        assert response.status_code == 503
        assert "Конфигурация не завершена" in response.get_data(as_text=True)
    assert nothing_written(jobs)


@pytest.mark.parametrize("salon_part, status, text", [
    ("", 400, "Не получен ID салона"),
    ("salon_id=abc", 400, "Некорректный ID салона"),
    ("salon_id=0", 400, "Некорректный ID салона"),
    ("salon_id=-5", 400, "Некорректный ID салона"),
    ("salon_id=1e3", 400, "Некорректный ID салона"),
    ("salon_id=99999999999999999999", 400, "Некорректный ID салона"),
    ("salon_id=%3Cscript%3E", 400, "Некорректный ID салона"),
    ("&".join(f"salon_ids[]={i}" for i in range(1, 60)), 400, "Слишком много филиалов"),
])
def test_bad_salon_ids_get_a_russian_page_and_no_write(client, settings, jobs, salon_part, status, text):
    query = signed_query(settings.yclients_partner_token, salon_ids=(), form="none")
    response = client.get(f"{PATH}?{salon_part}&{query}")
    body = response.get_data(as_text=True)
    assert response.status_code == status and text in body
    assert "<script>" not in body and "Traceback" not in body
    assert nothing_written(jobs)


@pytest.mark.parametrize("user", [["not", "an", "object"], {"id": "abc"}, {"id": -3}, {"id": 1.5}])
def test_signed_but_malformed_user_data_is_refused_without_a_write(client, settings, jobs, user):
    response = client.get(f"{PATH}?{signed_query(settings.yclients_partner_token, user=user)}")
    assert response.status_code == 400
    assert "Ошибка подключения" in response.get_data(as_text=True)
    assert nothing_written(jobs)


def test_stored_strings_are_capped_and_bad_contacts_dropped(client, settings):
    user = {"id": 5, "name": "Я" * 1000 + "\x00\x07", "phone": "12", "email": "not-an-email <x@y>",
            "salon_name": "<img src=x onerror=alert(1)>"}
    client.get(f"{PATH}?{signed_query(settings.yclients_partner_token, user=user)}")
    salon = Salon.get_by_id(962302)
    assert len(salon.installer_name) == 255 and "\x00" not in salon.installer_name
    assert salon.installer_phone == "" and salon.installer_email == ""
    # Stored as text; the page escapes it (see the onboarding tests).
    assert salon.title == "<img src=x onerror=alert(1)>"


def test_a_failed_enqueue_lets_the_owner_simply_press_again(settings, database, redis_client):
    broken_jobs = RecordingJobs(fail=True)
    app = create_app(settings, context=WebContext(settings=settings, database=database, redis=redis_client,
                                                  jobs=broken_jobs, live=LiveStatus(redis_client)))
    query = signed_query(settings.yclients_partner_token)
    client = ReopeningClient(app.test_client(), database)
    failed = client.get(f"{PATH}?{query}")
    assert failed.status_code == 503 and "Traceback" not in failed.get_data(as_text=True)
    assert Salon.select().count() == 0
    broken_jobs.fail = False
    assert client.get(f"{PATH}?{query}").status_code == 302
    assert broken_jobs.sent == [("start_whatsapp_session", 962302)]


def _revisit(client, settings, user=None):
    # A fresh signature per visit (a different user id), as a new click in the marketplace would bring.
    return client.get(f"{PATH}?{signed_query(settings.yclients_partner_token, user=user)}")


def test_revisiting_never_downgrades_an_active_salon(client, settings, jobs):
    jobs.marketplace.default = "active"  # YCLIENTS: the application is installed and active there
    Salon.create(salon_id=962302, title="KULTURA", state=s.ACTIVE, api_key="k" * 32)
    response = _revisit(client, settings)
    assert link_claims(response, settings).salon_ids == (962302,)
    salon = Salon.get_by_id(962302)
    assert salon.state == s.ACTIVE and salon.api_key == "k" * 32 and salon.title == "KULTURA"
    assert jobs.sent == []
    assert [e.kind for e in TimelineEvent.select()] == ["registration_revisited"]


@pytest.mark.parametrize("state", [s.UNINSTALLED, s.FROZEN, s.ACTIVATION_FAILED])
def test_a_reinstall_goes_back_to_pending_whatsapp_with_a_clean_live_state(client, settings, jobs, redis_client,
                                                                           state):
    Salon.create(salon_id=962302, title="KULTURA", state=state)
    live = LiveStatus(redis_client)
    live.publish(962302, "complete", {})
    live.publish(962302, "qr", {"payload": "old", "svg": "<svg/>", "expires_in": 20})
    _revisit(client, settings)
    assert Salon.get_by_id(962302).state == s.PENDING_WHATSAPP
    assert jobs.sent == [("start_whatsapp_session", 962302)]
    snap = live.snapshot(962302)["data"]
    assert snap["state"] == s.PENDING_WHATSAPP and snap["complete"] is None and snap["qr"] is None


@pytest.mark.parametrize("state", [s.WHATSAPP_CONNECTED, s.ACTIVATING])
def test_a_revisit_during_onboarding_leaves_it_running(client, settings, jobs, state):
    Salon.create(salon_id=962302, title="KULTURA", state=state)
    _revisit(client, settings)
    assert Salon.get_by_id(962302).state == state and jobs.sent == []


def test_error_pages_escape_everything_and_never_show_a_stack_trace(client, settings):
    response = client.get(f"{PATH}?salon_id=%3Cscript%3Ealert(1)%3C/script%3E&user_data=x&user_data_sign=y")
    body = response.get_data(as_text=True)
    assert response.status_code == 403 and "<script>" not in body
    assert response.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
