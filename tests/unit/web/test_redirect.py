"""The registration redirect: signature (no bypass), every branch recorded, no downgrade, jobs after commit."""
from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pytest

from models import salon as s
from models.live import LiveStatus
from models.db import utcnow
from models.salon import Salon
from models.timeline import TimelineEvent
from runtime.yclients.errors import PermanentError
from tests.fakes.onboarding import SAMPLE_USER, RecordingJobs, ReopeningClient, signed_query
from web import create_app
from tests.support import container_for
from web.marketplace import links, tokens

PATH = "/auth/yclients/redirect"


@pytest.fixture
def jobs(database):
    return RecordingJobs(database)


@pytest.fixture
def app(settings, database, redis_client, jobs):
    context = container_for(settings=settings, database=database, redis=redis_client, jobs=jobs,
                         live=LiveStatus(redis_client))
    return create_app(settings, container=context)


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
    return Salon.select().count() == 0 and TimelineEvent.select().count() == 0 and jobs.calls() == []


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
    assert jobs.calls() == [("start_whatsapp_session", 962302)]


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
    assert sorted(jobs.calls()) == [("start_whatsapp_session", 501), ("start_whatsapp_session", 502),
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
    assert "Ошибка безопасности" in body and f'href="{links.marketplace_url(settings)}"' in body
    assert "Traceback" not in body
    assert nothing_written(jobs)


def test_a_missing_partner_token_answers_503_configuration_incomplete(settings, database, redis_client, jobs):
    for placeholder in ("", "test_token_waiting_for_real"):
        broken = settings.replace(yclients_partner_token=placeholder)
        app = create_app(broken, container=container_for(settings=broken, database=database, redis=redis_client,
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
    app = create_app(settings, container=container_for(settings=settings, database=database, redis=redis_client,
                                                  jobs=broken_jobs, live=LiveStatus(redis_client)))
    query = signed_query(settings.yclients_partner_token)
    client = ReopeningClient(app.test_client(), database)
    failed = client.get(f"{PATH}?{query}")
    assert failed.status_code == 503 and "Traceback" not in failed.get_data(as_text=True)
    assert Salon.select().count() == 0
    broken_jobs.fail = None  # the broker is back
    assert client.get(f"{PATH}?{query}").status_code == 302
    assert broken_jobs.calls() == [("start_whatsapp_session", 962302)]


def _revisit(client, settings, user=None):
    # A fresh signature per visit (a different user id), as a new click in the marketplace would bring.
    return client.get(f"{PATH}?{signed_query(settings.yclients_partner_token, user=user)}")


def test_revisiting_never_downgrades_an_active_salon(client, settings, jobs):
    jobs.yclients.set_status("active", 962302)  # YCLIENTS: the application is installed and active there
    Salon.create(salon_id=962302, title="KULTURA", state=s.ACTIVE, api_key="k" * 32)
    response = _revisit(client, settings)
    assert link_claims(response, settings).salon_ids == (962302,)
    salon = Salon.get_by_id(962302)
    assert salon.state == s.ACTIVE and salon.api_key == "k" * 32 and salon.title == "KULTURA"
    assert jobs.calls() == []
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
    assert jobs.calls() == [("start_whatsapp_session", 962302)]
    snap = live.snapshot(962302)["data"]
    assert snap["state"] == s.PENDING_WHATSAPP and snap["complete"] is None and snap["qr"] is None


@pytest.mark.parametrize("state", [s.WHATSAPP_CONNECTED, s.ACTIVATING])
def test_a_revisit_during_onboarding_leaves_it_running(client, settings, jobs, state):
    Salon.create(salon_id=962302, title="KULTURA", state=state)
    _revisit(client, settings)
    assert Salon.get_by_id(962302).state == state and jobs.calls() == []


def test_error_pages_escape_everything_and_never_show_a_stack_trace(client, settings):
    response = client.get(f"{PATH}?salon_id=%3Cscript%3Ealert(1)%3C/script%3E&user_data=x&user_data_sign=y")
    body = response.get_data(as_text=True)
    assert response.status_code == 403 and "<script>" not in body
    assert response.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


# -- Marketplace entry v2: YCLIENTS confirms every branch (S-3) ------------------------------------------------

def _exchange(client, response):
    """Follow the link token to the page; returns the page response (the client keeps the cookie)."""
    landed = client.get(response.headers["Location"])
    assert landed.status_code == 302 and landed.headers["Location"] == "/marketplace/onboarding"
    return client.get("/marketplace/onboarding")


def _fresh_browser(app):
    return ReopeningClient(app.test_client(), app.extensions["aiadmin"].database)


def test_a_second_press_from_a_fresh_browser_a_second_later_gets_its_own_working_page(client, settings, jobs, app):
    query = signed_query(settings.yclients_partner_token)
    first = client.get(f"{PATH}?{query}")
    assert _exchange(client, first).status_code == 200
    time.sleep(1)
    other = _fresh_browser(app)
    second = other.get(f"{PATH}?{query}")
    assert link_claims(second, settings).salon_ids == (962302,)
    assert second.headers["Location"] != first.headers["Location"]  # a fresh one-time link
    page = _exchange(other, second)
    assert page.status_code == 200 and "962302" in page.get_data(as_text=True)
    assert _exchange(client, client.get(f"{PATH}?{query}")).status_code == 200  # and the first browser again
    # One YCLIENTS round for the three presses (the verdict is cached briefly), one salon, one session start.
    assert jobs.yclients.calls == [("status", 962302), ("company", 962302)]
    assert Salon.select().count() == 1 and jobs.calls() == [("start_whatsapp_session", 962302)] * 3
    assert [e.kind for e in TimelineEvent.select().order_by(TimelineEvent.id)] == [
        "registration_started", "registration_revisited", "registration_revisited"]


def test_someone_elses_valid_signature_with_a_foreign_salon_id_is_refused_and_changes_nothing(
        client, settings, jobs, redis_client):
    victim = Salon.create(salon_id=962302, title="KULTURA Малаховка", state=s.ACTIVE, installer_id=42,
                          installer_name="Настоящий владелец", installer_phone="79990000000",
                          whatsapp_phone="79990000001", api_key="k" * 32)
    jobs.connect_pressed = False  # a made-up id: YCLIENTS has no such install
    jobs.yclients.set_status("active", 962302)
    jobs.yclients.press_connect(555)
    jobs.yclients.load(962302, company={"title": "KULTURA Малаховка"})
    jobs.yclients.load(555, company={"title": "Салон «Пример»"})
    attacker = {**SAMPLE_USER, "id": 777, "salon_name": "Салон «Пример»"}  # signed for the attacker's own salon 555
    for salon_part in ((962302,), (777001,), (962302, 555)):
        response = client.get(f"{PATH}?{signed_query(settings.yclients_partner_token, salon_part, attacker)}")
        assert response.status_code == 403, salon_part
        assert "не " in response.get_data(as_text=True)
    assert list(Salon.select()) == [victim]
    stored = Salon.get_by_id(962302)
    assert (stored.installer_id, stored.installer_name, stored.state, stored.session_generation) == (
        42, "Настоящий владелец", s.ACTIVE, 0)
    assert TimelineEvent.select().count() == 0 and jobs.calls() == []


def test_forged_extra_branches_are_left_out_and_nothing_is_created_for_them(client, settings, jobs):
    jobs.connect_pressed = False  # only 962302 was: the forged ones are not installed
    jobs.yclients.press_connect(962302)
    forged = (962302,) + tuple(range(800001, 800011))
    claims = link_claims(client.get(f"{PATH}?{signed_query(settings.yclients_partner_token, forged)}"), settings)
    assert claims.salon_ids == (962302,)
    assert [x.salon_id for x in Salon.select()] == [962302]
    assert jobs.calls() == [("start_whatsapp_session", 962302)]


def test_a_branch_of_another_installer_is_not_added_through_someone_elses_network_button(client, settings, jobs):
    Salon.create(salon_id=970002, title="Чужой филиал", state=s.ACTIVE, installer_id=42)
    jobs.yclients.set_status("active", 970002)  # 970001 pending, by the press
    claims = link_claims(client.get(f"{PATH}?{signed_query(settings.yclients_partner_token, (970001, 970002))}"),
                         settings)
    assert claims.salon_ids == (970001,)
    assert Salon.get_by_id(970002).installer_id == 42


@pytest.mark.parametrize("answer", ["not_installed", "uninstalled", "forbidden", "unknown"])
def test_a_branch_yclients_does_not_confirm_gets_a_russian_page_and_nothing_is_written(client, settings, jobs, answer):
    jobs.connect_pressed = False
    if answer == "forbidden":
        jobs.yclients.errors.append(PermanentError("403", status=403))  # YCLIENTS refuses to say
    elif answer != "not_installed":
        jobs.yclients.set_status(answer, 962302)
    response = client.get(f"{PATH}?{signed_query(settings.yclients_partner_token)}")
    assert response.status_code == 403
    assert "YCLIENTS не подтвердил подключение" in response.get_data(as_text=True)
    assert nothing_written(jobs)
    assert jobs.yclients.calls == [("status", 962302)]  # no title call, no other branch asked


def test_a_salon_name_that_is_not_the_company_title_is_refused_and_logged_for_support(client, settings, jobs,
                                                                                      caplog):
    jobs.yclients.load(962302, company={"title": "KULTURA Малаховка"})
    response = client.get(f"{PATH}?{signed_query(settings.yclients_partner_token)}")  # signed "Салон «Пример»"
    assert response.status_code == 403 and "не совпадают" in response.get_data(as_text=True)
    assert nothing_written(jobs)
    assert any("salon_name does not match branch 962302" in r.getMessage() for r in caplog.records)


def test_a_salon_name_matching_up_to_case_quotes_and_yo_is_accepted(client, settings, jobs):
    jobs.yclients.load(962302, company={"title": "САЛОН \"ПРИМЕР\" "})
    user = {**SAMPLE_USER, "salon_name": "салон  «пример»"}
    assert link_claims(client.get(f"{PATH}?{signed_query(settings.yclients_partner_token, user=user)}"),
                       settings).salon_ids == (962302,)
    assert Salon.get_by_id(962302).title == "САЛОН \"ПРИМЕР\" "  # YCLIENTS' own title is stored


def test_yclients_down_says_try_again_in_a_minute_writes_nothing_and_is_not_a_5xx(client, settings, jobs):
    from runtime.yclients.errors import TransientError

    jobs.yclients.errors.append(TransientError("YCLIENTS GET status: 502", status=502))
    response = client.get(f"{PATH}?{signed_query(settings.yclients_partner_token)}")
    body = response.get_data(as_text=True)
    assert response.status_code < 500 and response.headers["Retry-After"] == "60"
    assert "через минуту" in body and "Traceback" not in body
    assert nothing_written(jobs)
    # The "unavailable" answer is kept only briefly: once YCLIENTS is back, the next press goes through.
    jobs.yclients.errors.clear()
    from models import install_check as ic

    check = ic.check_id(_sign_of(settings), [962302])
    assert 0 < jobs_redis(client).ttl(f"{ic.PREFIX}{check}:verdict") <= ic.UNAVAILABLE_TTL
    jobs_redis(client).delete(f"{ic.PREFIX}{check}:verdict")  # as if its 5 s were over
    assert client.get(f"{PATH}?{signed_query(settings.yclients_partner_token)}").status_code == 302
    assert len(jobs.checks) == 2  # a new check was enqueued, not the old request waited on


def jobs_redis(client):
    return client._client.application.extensions["aiadmin"].redis


def _sign_of(settings, user=None, salon_ids=(962302,)):
    from urllib.parse import parse_qs

    return parse_qs(signed_query(settings.yclients_partner_token, salon_ids, user))["user_data_sign"][0]


def test_without_a_verdict_in_time_the_checking_page_reloads_itself_until_the_verdict_is_there(
        settings, database, redis_client, monkeypatch):
    from web.marketplace import verification
    from tests.fakes.onboarding import answer_check

    monkeypatch.setattr(verification, "WAIT_SECONDS", 0.3)
    jobs = RecordingJobs(database, answer_checks=False)
    app = create_app(settings, container=container_for(settings=settings, database=database, redis=redis_client,
                                                  jobs=jobs, live=LiveStatus(redis_client)))
    browser = ReopeningClient(app.test_client(), database)
    query = signed_query(settings.yclients_partner_token)
    checking = browser.get(f"{PATH}?{query}")
    body = checking.get_data(as_text=True)
    assert checking.status_code == 200 and '<meta http-equiv="refresh" content="2">' in body
    assert "Проверяем подключение в YCLIENTS" in body and "<script" not in body
    assert browser.get(f"{PATH}?{query}").status_code == 200  # still checking: no second job for the same link
    assert len(jobs.checks) == 1 and Salon.select().count() == 0
    answer_check(redis_client, jobs.checks[0])  # the worker answers
    assert link_claims(browser.get(f"{PATH}?{query}"), settings).salon_ids == (962302,)


def test_a_check_nobody_answers_ends_in_try_again_not_an_endless_checking_page(settings, database, redis_client,
                                                                              monkeypatch):
    from web.marketplace import verification

    monkeypatch.setattr(verification, "WAIT_SECONDS", 0.2)
    monkeypatch.setattr(verification, "GIVE_UP_SECONDS", 0.5)
    jobs = RecordingJobs(database, answer_checks=False)
    app = create_app(settings, container=container_for(settings=settings, database=database, redis=redis_client,
                                                  jobs=jobs, live=LiveStatus(redis_client)))
    browser = ReopeningClient(app.test_client(), database)
    query = signed_query(settings.yclients_partner_token)
    assert browser.get(f"{PATH}?{query}").status_code == 200
    time.sleep(0.4)
    late = browser.get(f"{PATH}?{query}")
    assert late.status_code < 500 and late.headers["Retry-After"] == "60"
    assert "через минуту" in late.get_data(as_text=True) and Salon.select().count() == 0


def test_per_signature_limit_stops_a_flood_of_forged_ids_before_any_yclients_call(client, settings, jobs):
    jobs.connect_pressed = False
    statuses = []
    for start in range(0, 240, 40):  # 40 made-up branch ids per request, every request a different set
        ids = tuple(range(900000 + start, 900040 + start))
        statuses.append(client.get(f"{PATH}?{signed_query(settings.yclients_partner_token, ids)}").status_code)
    assert statuses == [403, 403, 403, 429, 429, 429]  # 150 branch checks per signature per 10 minutes
    # Each admitted check ended at its first (forged) id; the refused ones never reached YCLIENTS at all.
    assert jobs.yclients.calls == [("status", 900000), ("status", 900040), ("status", 900080)]
    assert nothing_written(jobs)


def test_per_address_limit_counts_branch_checks_across_signatures(client, settings, jobs):
    jobs.connect_pressed = False
    statuses = []
    for user_id in range(1, 9):  # 50 branches each, eight different (valid) signatures from one address
        user = {**SAMPLE_USER, "id": user_id}
        query = signed_query(settings.yclients_partner_token, tuple(range(1000 * user_id, 1000 * user_id + 50)), user)
        statuses.append(client.get(f"{PATH}?{query}").status_code)
    assert statuses == [403] * 6 + [429, 429]  # 300 branch checks per address per 10 minutes
    assert len(jobs.yclients.calls) == 6
    refused = client.get(f"{PATH}?{signed_query(settings.yclients_partner_token, (7,), {**SAMPLE_USER, 'id': 9})}")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


def test_a_cached_verdict_is_not_trusted_after_the_salon_was_uninstalled(client, settings, jobs):
    query = signed_query(settings.yclients_partner_token)
    assert client.get(f"{PATH}?{query}").status_code == 302
    Salon.update(state=s.UNINSTALLED, updated_at=utcnow()).execute()  # the uninstall webhook was applied
    jobs.yclients.set_status("uninstalled", 962302)  # and YCLIENTS agrees:
    jobs.connect_pressed = False  # nobody pressed «Подключить» again
    response = client.get(f"{PATH}?{query}")
    assert response.status_code == 403
    assert Salon.get_by_id(962302).state == s.UNINSTALLED
    assert jobs.yclients.calls.count(("status", 962302)) == 2


def test_uninstall_then_reinstall_within_a_minute_starts_over_with_a_new_generation(client, settings, jobs,
                                                                                    redis_client):
    query = signed_query(settings.yclients_partner_token)
    first = client.get(f"{PATH}?{query}")
    assert _exchange(client, first).status_code == 200
    Salon.update(state=s.UNINSTALLED, updated_at=utcnow(), session_generation=Salon.session_generation + 1).execute()
    live = LiveStatus(redis_client)
    live.publish(962302, "qr", {"payload": "old", "svg": "<svg/>", "expires_in": 20})
    second = client.get(f"{PATH}?{query}")  # YCLIENTS says pending again (pressed again)
    claims = link_claims(second, settings)
    salon = Salon.get_by_id(962302)
    assert salon.state == s.PENDING_WHATSAPP and claims.generation(962302) == salon.session_generation == 2
    assert live.snapshot(962302)["data"]["qr"] is None
    assert jobs.calls() == [("start_whatsapp_session", 962302)] * 2
    assert _exchange(client, second).status_code == 200


def test_an_active_salon_that_yclients_reports_pending_again_is_a_reinstall(client, settings, jobs):
    # The uninstall webhook never reached us, but YCLIENTS has the application pending again.
    Salon.create(salon_id=962302, title="KULTURA", state=s.ACTIVE, installer_id=1234567, api_key="k" * 32)
    claims = link_claims(client.get(f"{PATH}?{signed_query(settings.yclients_partner_token)}"), settings)
    salon = Salon.get_by_id(962302)
    assert salon.state == s.PENDING_WHATSAPP and salon.session_generation == 1 == claims.generation(962302)
    assert jobs.calls() == [("start_whatsapp_session", 962302)]


def test_an_active_salon_revisit_keeps_the_installer_and_records_the_visit(client, settings, jobs):
    jobs.yclients.set_status("active", 962302)
    Salon.create(salon_id=962302, title="KULTURA", state=s.ACTIVE, installer_id=1234567, installer_name="Первый",
                 installer_phone="79000000000", api_key="k" * 32)
    renamed = {**SAMPLE_USER, "name": "Другое имя", "phone": "79111111111"}
    page = _exchange(client, client.get(f"{PATH}?{signed_query(settings.yclients_partner_token, user=renamed)}"))
    assert page.status_code == 200
    salon = Salon.get_by_id(962302)
    assert (salon.state, salon.installer_name, salon.installer_phone) == (s.ACTIVE, "Первый", "79000000000")
    event = TimelineEvent.get()
    assert event.kind == "registration_revisited" and event.data["installer_id"] == 1234567
    assert jobs.calls() == []


def test_the_multi_branch_button_after_a_single_branch_press_shows_every_confirmed_branch(client, settings, jobs):
    assert link_claims(client.get(f"{PATH}?{signed_query(settings.yclients_partner_token, (970001,))}"),
                       settings).salon_ids == (970001,)
    network = client.get(f"{PATH}?{signed_query(settings.yclients_partner_token, (970001, 970002), form='indexed')}")
    assert link_claims(network, settings).salon_ids == (970001, 970002)
    page = _exchange(client, network).get_data(as_text=True)
    assert "970001" in page and "970002" in page


def test_a_different_user_confirmed_by_yclients_takes_over_and_the_first_session_ends(client, settings, jobs, app):
    jobs.yclients.load(962302, company={"title": "Салон «Пример»"})
    first = client.get(f"{PATH}?{signed_query(settings.yclients_partner_token)}")
    assert _exchange(client, first).status_code == 200
    colleague = {**SAMPLE_USER, "id": 7654321, "name": "Коллега"}
    other = _fresh_browser(app)
    taken = other.get(f"{PATH}?{signed_query(settings.yclients_partner_token, user=colleague)}")
    assert link_claims(taken, settings).generation(962302) == 1
    assert _exchange(other, taken).status_code == 200
    salon = Salon.get_by_id(962302)
    assert (salon.installer_id, salon.installer_name, salon.session_generation) == (7654321, "Коллега", 1)
    event = TimelineEvent.select().order_by(TimelineEvent.id.desc()).get()
    assert event.kind == "onboarding_taken_over" and event.data["previous_installer_id"] == 1234567
    # The first installer's cookie has ended: the page, the polling and the pairing-code endpoint say so.
    page = client.get("/marketplace/onboarding")
    assert page.status_code == 401 and "больше не действует" in page.get_data(as_text=True)
    polled = client.get("/marketplace/status")
    assert polled.status_code == 401 and polled.get_json()["error"] == "session_ended"
    pairing = client.post("/marketplace/pairing-code", json={"phone": "79001234567"})
    assert pairing.status_code == 401 and pairing.get_json()["error"] == "session_ended"
    assert other.get("/marketplace/status").status_code == 200


def test_user_data_without_a_user_id_never_counts_as_the_stored_installer(client, settings, jobs):
    Salon.create(salon_id=962302, title="Салон", state=s.PENDING_WHATSAPP, installer_id=1234567)
    anonymous = {k: v for k, v in SAMPLE_USER.items() if k != "id"}
    response = client.get(f"{PATH}?{signed_query(settings.yclients_partner_token, user=anonymous)}")
    assert response.status_code == 403  # another installer's onboarding, and no title to vouch for a take-over
    assert Salon.get_by_id(962302).installer_id == 1234567


def test_a_take_over_needs_the_company_title_from_yclients(client, settings, jobs, app):
    Salon.create(salon_id=962302, title="Салон", state=s.PENDING_WHATSAPP, installer_id=1234567)
    colleague = {**SAMPLE_USER, "id": 7654321}
    response = client.get(f"{PATH}?{signed_query(settings.yclients_partner_token, user=colleague)}")  # no title
    assert response.status_code == 403
    assert Salon.get_by_id(962302).installer_id == 1234567 and TimelineEvent.select().count() == 0


def test_a_reinstall_lets_the_new_install_send_its_own_welcome(client, settings, jobs):
    from models.outbound import SENT, OutboundMessage

    Salon.create(salon_id=962302, title="KULTURA", state=s.UNINSTALLED, installer_id=1234567, welcome_sent_at=utcnow())
    OutboundMessage.create(salon_id=962302, key="welcome:962302", chat_id="79001234567@c.us", text="hi", status=SENT)
    assert client.get(f"{PATH}?{signed_query(settings.yclients_partner_token)}").status_code == 302
    assert OutboundMessage.get_or_none(OutboundMessage.key == "welcome:962302") is None
    assert OutboundMessage.get().key.startswith("welcome-previous:962302:")
    assert Salon.get_by_id(962302).welcome_sent_at is None


def test_a_refusal_links_back_to_the_marketplace_the_install_came_from(client, app, settings):
    # Under `make run` YCLIENTS_API_URL is the sandbox: its marketplace page, not the real yclients.com.
    page = client.get(PATH).get_data(as_text=True)
    sandbox = settings.yclients_api_url.rstrip("/")
    assert f'href="{sandbox}/"' in page and "yclients.com/marketplace" not in page
    # In production (the real API) the way back is the real marketplace.
    real = settings.replace(yclients_api_url="https://api.yclients.com")
    assert links.marketplace_url(real) == "https://yclients.com/marketplace"


def test_after_the_commit_the_live_reset_and_the_session_job_are_one_redis_round_trip(settings, database,
                                                                                        redis_client):
    from models import install_check as ic
    from runtime.broker import build_broker
    from runtime.jobs import Jobs

    broker = build_broker(settings)
    live = LiveStatus(redis_client)
    app = create_app(settings, container=container_for(settings=settings, database=database, redis=redis_client,
                                                       jobs=Jobs(broker), live=live))
    query = signed_query(settings.yclients_partner_token)
    signature = parse_qs(query)["user_data_sign"][0]
    ic.write_verdict(redis_client, ic.check_id(signature, [962302]), ic.Verdict(
        ic.CONFIRMED, branches=[{"salon_id": 962302, "status": "pending", "title": None}], checked_at=time.time()))
    live.publish(962302, "qr", {"payload": "old", "svg": "<svg/>", "expires_in": 20})  # a stale QR
    redis_client.script_flush()  # the first reset after a Redis restart still runs once, before the enqueue
    lone, pipelined = [], []
    execute, pipeline = broker.client.execute_command, broker.client.pipeline

    def counted_pipeline(*args, **kwargs):
        p = pipeline(*args, **kwargs)
        run = p.execute
        p.execute = lambda **k: (pipelined.append([c[0][0] for c in p.command_stack]), run(**k))[1]
        return p

    broker._max_unpack_size()  # asked of Redis once per process, by whichever enqueue comes first
    broker.client.execute_command = lambda *a, **k: (lone.append(a[0]), execute(*a, **k))[1]
    broker.client.pipeline = counted_pipeline
    assert ReopeningClient(app.test_client(), database).get(f"{PATH}?{query}").status_code == 302
    # Was: the reset's script on the app's client, then Dramatiq's enqueue (one more round trip).
    assert pipelined == [["EVAL", "EVALSHA"], ["EVALSHA"]] and lone == ["SCRIPT LOAD"]  # Redis had to load dispatch
    snapshot = live.snapshot(962302)
    assert snapshot["data"]["state"] == s.PENDING_WHATSAPP and snapshot["data"]["qr"] is None
    assert snapshot["seq"] == 2  # the publish, then the reset once
    message = next(broker.consume("whatsapp", prefetch=1, timeout=500))
    assert (message.actor_name, message.args) == ("start_whatsapp_session", (962302,))
    broker.close()
