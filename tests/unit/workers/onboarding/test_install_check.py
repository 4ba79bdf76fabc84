"""The worker's install check: YCLIENTS' application status per branch, the salon_name cross-check, the verdict."""
import pytest

from models import install_check as ic
from workers.onboarding.install_check import check_install, normalise_title
from runtime.yclients.errors import PermanentError, TransientError
from runtime.yclients.ratelimit import RateLimitTimeout
from runtime.yclients.stub import StubYclients


def marketplace(statuses=None, titles=None, connected=(962302,)):
    """YCLIENTS after «Подключить» for `connected` (pending), with these application statuses and titles."""
    yc = StubYclients()
    yc.press_connect(*connected)
    for salon_id, status in (statuses or {}).items():
        if status == "forbidden":
            yc.errors.append(PermanentError("403", status=403))  # YCLIENTS refuses to say
        elif status != "not_installed":
            yc.set_status(status, salon_id)
    for salon_id, title in (titles or {}).items():
        yc.load(salon_id, company={"title": title})
    return yc


def ask(redis_client, marketplace, salon_ids, salon_name="Салон «Пример»", check="c1"):
    ic.open_request(redis_client, check, salon_ids, salon_name)
    check_install(marketplace, redis_client, check)
    return ic.read_verdict(redis_client, check)


@pytest.mark.parametrize("status", ["pending", "active"])
def test_a_pending_or_active_first_branch_with_a_matching_title_is_confirmed(redis_client, status):
    yc = marketplace({962302: status}, {962302: "Салон «Пример»"})
    verdict = ask(redis_client, yc, [962302])
    assert verdict.confirmed and verdict.branches == [{"salon_id": 962302, "status": status,
                                                       "title": "Салон «Пример»"}]
    assert yc.calls == [("status", 962302), ("company", 962302)]


@pytest.mark.parametrize("status", ["uninstalled", "not_installed", "forbidden", "unknown", "frozen"])
def test_any_other_answer_for_the_first_branch_refuses_after_one_call(redis_client, status):
    yc = marketplace({962302: status}, connected=() if status == "not_installed" else (962302,))
    verdict = ask(redis_client, yc, [962302, 1, 2, 3])
    assert verdict.status == ic.REFUSED and not verdict.confirmed and verdict.branches == []
    assert yc.calls == [("status", 962302)]


def test_a_title_mismatch_refuses_and_no_other_branch_is_asked(redis_client):
    yc = marketplace(titles={962302: "KULTURA Малаховка"})
    verdict = ask(redis_client, yc, [962302, 970001], salon_name="Чужой салон")
    assert verdict.status == ic.MISMATCH
    assert yc.calls == [("status", 962302), ("company", 962302)]


def test_without_a_title_from_yclients_the_cross_check_is_skipped(redis_client):
    assert ask(redis_client, marketplace(), [962302], salon_name="что угодно").confirmed


def test_extra_branches_are_kept_only_when_yclients_confirms_them(redis_client):
    yc = marketplace({970001: "pending", 970002: "active", 970003: "uninstalled"}, connected=())
    verdict = ask(redis_client, yc, [970001, 970002, 970003, 999])
    assert [b["salon_id"] for b in verdict.branches] == [970001, 970002]
    assert verdict.yclients_status(970002) == "active" and verdict.yclients_status(999) is None


@pytest.mark.parametrize("error", [TransientError("502", status=502), RateLimitTimeout("no budget"),
                                   PermanentError("401", status=401)])
def test_yclients_unreachable_or_misconfigured_is_unavailable_and_kept_only_briefly(redis_client, error):
    yc = marketplace()
    yc.errors = [error] * 4  # every call, as an unreachable YCLIENTS
    verdict = ask(redis_client, yc, [962302])
    assert verdict.status == ic.UNAVAILABLE
    assert 0 < redis_client.ttl(f"{ic.PREFIX}c1:verdict") <= ic.UNAVAILABLE_TTL


def test_a_second_run_keeps_the_verdict_and_asks_yclients_nothing(redis_client):
    yc = marketplace()
    ask(redis_client, yc, [962302])
    check_install(yc, redis_client, "c1")
    assert yc.calls == [("status", 962302), ("company", 962302)]
    assert 0 < redis_client.ttl(f"{ic.PREFIX}c1:verdict") <= ic.VERDICT_TTL


def test_an_expired_request_is_not_answered(redis_client):
    yc = marketplace()
    assert check_install(yc, redis_client, "gone") is None and yc.calls == []


def test_titles_are_compared_without_case_quotes_dashes_yo_or_extra_spaces():
    assert normalise_title(" Салон «Ёлка» — Центр ") == normalise_title('салон "елка" - центр')
    assert normalise_title("Салон Ёлка") != normalise_title("Салон Ёлка 2")


def test_the_check_id_binds_the_signature_and_the_branches():
    assert ic.check_id("AB" * 32, [1, 2]) == ic.check_id("ab" * 32, [1, 2])
    assert ic.check_id("ab" * 32, [1, 2]) != ic.check_id("ab" * 32, [1, 3])
    assert ic.check_id("ab" * 32, [1, 2]) != ic.check_id("ac" * 32, [1, 2])


def round_trips(monkeypatch) -> list[list[str]]:
    """Every round trip to Redis from now on, as the commands it carried (a pipeline is one round trip)."""
    from redis.client import Pipeline, Redis

    sent = []
    command, execute = Redis.execute_command, Pipeline.execute

    def one(self, *args, **options):
        sent.append([args[0]])
        return command(self, *args, **options)

    def batch(self, *args, **kwargs):
        names = [c[0][0] for c in self.command_stack]
        sent.append(["MULTI", *names, "EXEC"] if self.transaction else names)
        return execute(self, *args, **kwargs)

    monkeypatch.setattr(Redis, "execute_command", one)
    monkeypatch.setattr(Pipeline, "execute", batch)
    return sent


def test_a_confirmed_check_is_one_round_trip_to_read_and_one_to_write_and_wakes_the_waiters(redis_client,
                                                                                          monkeypatch):
    yc = marketplace({962302: "pending"}, {962302: "Салон «Пример»"})
    ic.open_request(redis_client, "c1", [962302], "Салон «Пример»")
    sent = round_trips(monkeypatch)
    verdict = check_install(yc, redis_client, "c1")
    # Read: request, verdict and the answers a deferred message may have kept. Write: the verdict (its reply list,
    # the request and the kept answers dropped) and the company card for the welcome. (The YCLIENTS budget's own
    # calls are the limiter's: not made by this stub.)
    assert sent == [["MGET", "HGETALL"], ["MULTI", "SET", "DEL", "RPUSH", "EXPIRE", "SET", "EXEC"]]
    monkeypatch.undo()
    assert redis_client.get("aiadmin:company-card:962302") is not None
    # A redirect blocked on the check gets it at once (and so does every later one while it is cached).
    assert ic.wait_verdict(redis_client, "c1", timeout=5) == verdict == ic.wait_verdict(redis_client, "c1", timeout=5)
    assert verdict.confirmed


def test_a_refused_check_writes_no_company_card(redis_client, monkeypatch):
    yc = marketplace(titles={962302: "KULTURA Малаховка"})
    ic.open_request(redis_client, "c1", [962302], "Чужой салон")
    sent = round_trips(monkeypatch)
    assert check_install(yc, redis_client, "c1").status == ic.MISMATCH
    assert sent == [["MGET", "HGETALL"], ["MULTI", "SET", "DEL", "RPUSH", "EXPIRE", "EXEC"]]
    monkeypatch.undo()
    assert redis_client.get("aiadmin:company-card:962302") is None


def test_a_check_that_would_wait_for_budget_is_deferred_and_asks_only_what_it_does_not_know(redis_client):
    from runtime.yclients.ratelimit import KEY_PREFIX
    from tests.fakes.budget import budgeted_pair, fill_log
    from workers.onboarding.install_check import CheckDeferred

    yc = marketplace({962302: "pending"}, {962302: "Салон «Пример»"})
    _, interactive, admitted = budgeted_pair(yc, redis_client, "5/s,6/min")
    fill_log(redis_client, 5)  # one request left in this minute: the status call gets it, the card must wait
    ic.open_request(redis_client, "c1", [962302], "Салон «Пример»")
    with pytest.raises(CheckDeferred) as caught:
        check_install(interactive, redis_client, "c1")
    assert caught.value.delay_ms > 50_000  # not sleeping in the worker thread for it
    assert ic.read_verdict(redis_client, "c1") is None  # the owner's page keeps checking
    assert [m.decode() for m in redis_client.zrange(KEY_PREFIX + "yclients:demand", 0, -1)] == ["check:c1"]
    redis_client.delete(KEY_PREFIX + "yclients")  # the minute has passed
    check_install(interactive, redis_client, "c1")
    assert ic.read_verdict(redis_client, "c1").confirmed
    assert yc.calls == [("status", 962302), ("company", 962302)]  # the status was not asked twice
    assert not redis_client.exists(ic.answers_key("c1"))  # the kept answers go with the answered check


def budgeted_api(redis_client, *answers, budget="5/s,200/min"):
    """YclientsApi over the real client and the real shared limiter, YCLIENTS' answers canned."""
    from runtime.settings import RateLimit
    from runtime.yclients.api import YclientsApi
    from runtime.yclients.client import YclientsClient
    from runtime.yclients.ratelimit import SlidingWindowLimiter
    from tests.fakes.yclients_http import FakeSession

    limiter = SlidingWindowLimiter(redis_client, RateLimit.parse(budget), margin_ms=0)
    session = FakeSession(*answers)
    return YclientsApi(YclientsClient("http://yc", "partner-tok", limiter=limiter, transport=session,
                                      sleep=lambda _s: None), application_id=18289), session


def confirming_answers():
    from tests.fakes.yclients_http import ok

    return ok({"connection_status": {"status": "pending"}}), ok({"title": "Салон «Пример»"})


def budget_log(redis_client) -> int:
    from runtime.yclients.ratelimit import KEY_PREFIX

    return redis_client.zcard(KEY_PREFIX + "yclients")


def test_the_first_yclients_calls_budget_is_taken_in_the_checks_read_round_trip(redis_client, monkeypatch):
    from runtime.yclients.ratelimit import _ACQUIRE

    api, session = budgeted_api(redis_client, *confirming_answers())
    redis_client.script_load(_ACQUIRE)  # as after any earlier call of the process
    ic.open_request(redis_client, "c1", [962302], "Салон «Пример»")
    sent = round_trips(monkeypatch)
    verdict = check_install(api, redis_client, "c1")
    monkeypatch.undo()
    assert verdict.confirmed and len(session.calls) == 2
    # Read (+ the status call's budget), the company call's budget, write: was read, budget, budget, write.
    assert sent == [["MGET", "HGETALL", "EVALSHA"], ["EVALSHA"],
                    ["MULTI", "SET", "DEL", "RPUSH", "EXPIRE", "SET", "EXEC"]]
    assert budget_log(redis_client) == 2  # one entry per call, none left over


def test_after_redis_forgot_the_budget_script_the_check_still_takes_one_slot_per_call(redis_client):
    api, session = budgeted_api(redis_client, *confirming_answers())
    redis_client.script_flush()
    ic.open_request(redis_client, "c1", [962302], "Салон «Пример»")
    assert check_install(api, redis_client, "c1").confirmed
    assert len(session.calls) == 2 and budget_log(redis_client) == 2


@pytest.mark.parametrize("situation", ["answered", "expired"])
def test_a_check_that_makes_no_call_gives_its_slot_back(redis_client, situation):
    api, session = budgeted_api(redis_client, *confirming_answers())
    if situation == "answered":  # a duplicate message of an answered check
        ic.write_verdict(redis_client, "c1", ic.Verdict(ic.REFUSED, reason="x", checked_at=1.0))
    assert (check_install(api, redis_client, "c1") is None) == (situation == "expired")
    assert not session.calls and budget_log(redis_client) == 0


def test_a_check_whose_first_slot_is_refused_asks_again_in_line(redis_client):
    from tests.fakes.budget import fill_log

    api, session = budgeted_api(redis_client, *confirming_answers(), budget="5/s,6/min")
    fill_log(redis_client, 6)  # the minute is full: the attempt in the read is refused, the call must wait
    ic.open_request(redis_client, "c1", [962302], "Салон «Пример»")
    from workers.onboarding.install_check import CheckDeferred

    with pytest.raises(CheckDeferred):
        check_install(api, redis_client, "c1")
    assert not session.calls and budget_log(redis_client) == 6  # nothing sent, nothing taken
