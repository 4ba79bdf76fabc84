"""Paced sending: a burst is spread per session, a message is never sent twice, an ambiguous timeout is
recorded as unknown (not retried), 5xx/refused before sending are retried, and a 463 stops the session."""
import heapq

import pytest

from bridge import sending
from runtime.gateway.errors import AccountBanned, AmbiguousSend, RecipientRestricted, RetryableGatewayError
from bridge.sending import Pacing, SendDeps
from runtime.gateway.waha import WahaClient
from models import outbound as O
from models.outbound import OutboundMessage
from models.salon import Salon
from models.timeline import TimelineEvent
from tests.support import free_port
from tests.fakes.gateway_sim import API_KEY


@pytest.fixture
def send_deps(waha, redis_client, jobs, clock):
    return SendDeps(waha=waha, redis=redis_client, jobs=jobs, pacing=Pacing(), clock=clock, rand=lambda: 0.5)


@pytest.fixture
def working(sim, database):
    for salon_id, phone in ((42, "79001234567"), (43, "79007654321")):
        Salon.create(salon_id=salon_id)
        sim.core.create(f"salon_{salon_id}", {})
        sim.core.scan(f"salon_{salon_id}", phone)
    return sim


def row(n, salon_id=42, notify="on_welcome_finished", text="Здравствуйте!"):
    return OutboundMessage.create(salon_id=salon_id, key=f"test:{salon_id}:{n}", chat_id="79001234567@c.us",
                                  text=text, notify_actor=notify).id


def status(outbound_id):
    return OutboundMessage.get_by_id(outbound_id).status


def run_queue(send_deps, jobs, clock, initial):
    """Play the broker: run each enqueued job at its due time on the fake clock, in time order."""
    queue = [(clock(), n, "send_whatsapp_text", (i,)) for n, i in enumerate(initial)]
    heapq.heapify(queue)
    counter, seen = len(queue), 0
    while queue:
        due, _, name, args = heapq.heappop(queue)
        clock.now = max(clock.now, due)
        seen = len(jobs.sent)
        {"send_whatsapp_text": sending.schedule_send, "deliver_whatsapp_text": sending.deliver}[name](send_deps, *args)
        for actor, new_args, _, delay, _ in jobs.sent[seen:]:
            if actor in ("send_whatsapp_text", "deliver_whatsapp_text"):
                counter += 1
                heapq.heappush(queue, (clock.now + (delay or 0) / 1000, counter, actor, new_args))


def test_a_burst_is_spread_per_session_and_each_message_sent_once(send_deps, working, jobs, clock):
    start = clock()
    burst = [row(n) for n in range(10)]
    other = row(99, salon_id=43)
    run_queue(send_deps, jobs, clock, burst + [other])
    sent = working.core.messages
    ours = [m["timestamp"] - start for m in sent if m["session"] == "salon_42"]
    assert len(ours) == 10 and len({m["text"] for m in sent}) == 1
    assert all(status(i) == O.SENT for i in burst + [other])
    # five go out after the typing pause, then one per 3 s
    assert max(ours[:5]) < 2.0
    assert all(ours[5 + j] >= 3 * (j + 1) - 0.01 for j in range(5)), ours
    gaps = [b - a for a, b in zip(ours[5:], ours[6:])]
    assert all(gap >= 2.99 for gap in gaps), gaps
    # the other salon's session has its own bucket: not delayed behind the burst
    theirs = [m["timestamp"] - start for m in sent if m["session"] == "salon_43"]
    assert theirs[0] < 2.0
    # seen and typing came before each send
    actions = [a["action"] for a in working.core.chat_actions if a["session"] == "salon_43"]
    assert actions == ["sendSeen", "startTyping", "stopTyping"]
    # every final outcome notifies the row's actor once
    assert sorted(a[0] for a, _ in jobs.named("on_welcome_finished")) == sorted(burst + [other])


def test_typing_time_scales_with_the_text_within_bounds():
    pacing = Pacing()
    assert sending.typing_seconds("hi", pacing, lambda: 0.5) == pytest.approx(pacing.typing_min)
    assert sending.typing_seconds("x" * 50, pacing, lambda: 0.5) == pytest.approx(2.0)
    assert sending.typing_seconds("x" * 5000, pacing, lambda: 0.5) == pytest.approx(pacing.typing_max)


def test_duplicate_jobs_never_send_twice(send_deps, working, jobs):
    outbound_id = row(1)
    assert sending.schedule_send(send_deps, outbound_id) == "scheduled"
    assert sending.schedule_send(send_deps, outbound_id) == "skipped"
    assert len(jobs.named("deliver_whatsapp_text")) == 1
    assert sending.deliver(send_deps, outbound_id) == "sent"
    assert sending.deliver(send_deps, outbound_id) == "skipped"
    assert len(working.core.messages) == 1
    row_ = OutboundMessage.get_by_id(outbound_id)
    assert row_.gateway_message_id == working.core.messages[0]["id"] and row_.sent_at is not None


def test_a_timeout_after_the_request_went_out_is_unknown_and_not_retried(send_deps, working, jobs, settings):
    send_deps.waha = WahaClient(working.url, API_KEY, timeout=0.5)
    working.core.faults["send_timeout"] = 1.5
    outbound_id = row(1)
    with pytest.raises(AmbiguousSend):
        sending.deliver(send_deps, outbound_id)
    assert status(outbound_id) == O.UNKNOWN
    assert sending.deliver(send_deps, outbound_id) == "skipped"  # a redelivered job does not send again
    assert len(working.core.messages) == 1  # it did reach the gateway
    assert jobs.named("on_welcome_finished") == [((outbound_id,), None)]


def test_the_deliver_actor_never_retries_an_ambiguous_send():
    from workers.registry import specs

    options = specs()["deliver_whatsapp_text"].options
    assert issubclass(AmbiguousSend, options["throws"])
    assert issubclass(RecipientRestricted, options["throws"]) and issubclass(AccountBanned, options["throws"])
    assert not issubclass(RetryableGatewayError, options["throws"])


def test_5xx_before_sending_is_retried_and_then_sent_once(send_deps, working, jobs):
    working.core.faults["send_5xx"] = 1
    outbound_id = row(1)
    with pytest.raises(RetryableGatewayError):
        sending.deliver(send_deps, outbound_id)
    assert status(outbound_id) == O.PENDING and jobs.named("on_welcome_finished") == []
    assert sending.deliver(send_deps, outbound_id) == "sent"
    assert len(working.core.messages) == 1


def test_connection_refused_is_retryable_not_ambiguous(send_deps, working):
    send_deps.waha = WahaClient(f"http://127.0.0.1:{free_port()}", API_KEY, timeout=2)
    outbound_id = row(1)
    with pytest.raises(RetryableGatewayError):
        sending.deliver(send_deps, outbound_id)
    assert status(outbound_id) == O.PENDING


def test_a_463_fails_the_message_and_stops_further_sends_for_that_session(send_deps, working, jobs, redis_client):
    working.core.ban("salon_42", 463)
    first, second, elsewhere = row(1), row(2), row(3, salon_id=43)
    with pytest.raises(RecipientRestricted):
        sending.deliver(send_deps, first)
    assert status(first) == O.FAILED
    assert sending.restriction(send_deps, "salon_42")["reason"] == "RecipientRestricted"
    assert TimelineEvent.get(TimelineEvent.kind == "whatsapp_send_restricted").salon_id == 42
    working.core.sessions["salon_42"].restricted = False  # even if the gateway would accept it now...
    actions = len(working.core.chat_actions)
    assert sending.schedule_send(send_deps, second) == "restricted"  # ...we stopped sending for the session
    assert status(second) == O.FAILED and len(working.core.chat_actions) == actions
    assert len(working.core.messages) == 0
    assert sending.schedule_send(send_deps, elsewhere) == "scheduled"  # other sessions are unaffected
    assert {a[0] for a, _ in jobs.named("on_welcome_finished")} == {first, second}


def test_a_banned_account_is_a_hard_stop_too(send_deps, working):
    working.core.ban("salon_42", 101)
    outbound_id = row(1)
    with pytest.raises(AccountBanned):
        sending.deliver(send_deps, outbound_id)
    assert status(outbound_id) == O.FAILED and sending.restriction(send_deps, "salon_42")


def test_giving_up_after_retries_fails_a_pending_row_and_notifies(send_deps, working, jobs):
    outbound_id = row(1)
    assert sending.give_up(send_deps, outbound_id, "gateway unavailable") is True
    assert status(outbound_id) == O.FAILED
    assert jobs.named("on_welcome_finished") == [((outbound_id,), None)]
    assert sending.give_up(send_deps, outbound_id, "again") is False


def test_no_notify_actor_means_nothing_is_enqueued(send_deps, working, jobs):
    outbound_id = row(1, notify="")
    sending.deliver(send_deps, outbound_id)
    assert status(outbound_id) == O.SENT and jobs.sent == []
