"""The shared YCLIENTS budget holds over any sliding window, and waiting blocks instead of raising."""
import pytest

from runtime.settings import RateLimit
from runtime.yclients.ratelimit import RateLimitTimeout, SlidingWindowLimiter


class Clock:
    def __init__(self, ms=1_000_000):
        self.ms = ms

    def __call__(self):
        return self.ms

    def sleep(self, seconds):
        self.ms += int(seconds * 1000) + 1


def limiter(redis_client, text, clock, **kw):
    kw.setdefault("margin_ms", 0)
    return SlidingWindowLimiter(redis_client, RateLimit.parse(text), clock_ms=clock, sleep=clock.sleep, **kw)


def test_a_second_window_admits_the_limit_then_says_how_long_to_wait(redis_client):
    clock = Clock()
    lim = limiter(redis_client, "5/s", clock)
    assert [lim.try_acquire() for _ in range(5)] == [0.0] * 5
    assert lim.try_acquire() == pytest.approx(1.0, abs=0.01)
    clock.ms += 999
    assert lim.try_acquire() > 0  # still inside the sliding second of the first request
    clock.ms += 1
    assert lim.try_acquire() == 0.0


def test_no_burst_at_a_fixed_window_edge(redis_client):
    # A fixed-window limiter would admit 5 at 0.9 s and 5 more at 1.0 s: 10 inside 0.1 s.
    clock = Clock(10_900)
    lim = limiter(redis_client, "5/s", clock)
    assert all(lim.try_acquire() == 0 for _ in range(5))
    clock.ms = 11_000
    assert lim.try_acquire() > 0


def test_every_window_must_have_room(redis_client):
    clock = Clock()
    lim = limiter(redis_client, "5/s,8/min", clock)
    admitted = 0
    for _ in range(8):
        lim.acquire()
        admitted += 1
    wait = lim.try_acquire()
    assert 50 < wait <= 60  # the minute is full even though the second is not


def test_two_limiters_share_one_budget(redis_client):
    clock = Clock()
    a = limiter(redis_client, "5/s", clock)
    b = limiter(redis_client, "5/s", clock)
    assert [a.try_acquire() for _ in range(3)] == [0.0] * 3
    assert [b.try_acquire() for _ in range(2)] == [0.0] * 2
    assert b.try_acquire() > 0 and a.try_acquire() > 0


def test_acquire_sleeps_until_admitted_instead_of_raising(redis_client):
    clock = Clock()
    lim = limiter(redis_client, "2/s", clock)
    start = clock.ms
    for _ in range(6):
        lim.acquire()
    assert clock.ms - start >= 2000  # 6 requests at 2/s need at least two extra seconds
    assert lim.waited >= 2.0


def test_acquire_gives_up_after_max_wait(redis_client):
    clock = Clock()
    lim = limiter(redis_client, "1/min", clock, max_wait=5)
    lim.acquire()
    with pytest.raises(RateLimitTimeout):
        lim.acquire()


def test_the_redis_server_clock_is_used_by_default(redis_client):
    lim = SlidingWindowLimiter(redis_client, RateLimit.parse("3/s"))
    assert [lim.try_acquire() for _ in range(3)] == [0.0] * 3
    assert 0 < lim.try_acquire() <= 1.1


def test_a_safety_margin_keeps_each_window_a_little_longer(redis_client):
    clock = Clock()
    lim = limiter(redis_client, "1/s", clock, margin_ms=100)
    assert lim.try_acquire() == 0
    clock.ms += 1000
    assert lim.try_acquire() == pytest.approx(0.1, abs=0.01)


# -- priority: interactive calls first, background only what they leave (the rule lives in the Lua script) ------

from runtime.yclients.ratelimit import (BACKGROUND, DEMAND_GRACE_MS, BudgetWait, background_limit,  # noqa: E402
                                        reserve)


def background(redis_client, text, clock, **kw):
    return limiter(redis_client, text, clock, priority=BACKGROUND, **kw)


def test_the_reserve_is_derived_from_each_window():
    assert (reserve(5), reserve(200), reserve(1), reserve(2)) == (1, 30, 0, 1)
    assert (background_limit(5), background_limit(200), background_limit(1)) == (4, 170, 1)


def test_background_stops_at_the_reduced_limit_and_interactive_still_finds_the_slot(redis_client):
    clock = Clock()
    sync, owner = background(redis_client, "5/s", clock), limiter(redis_client, "5/s", clock)
    assert [sync.try_acquire() for _ in range(4)] == [0.0] * 4
    assert sync.try_acquire() > 0  # the fifth request of the second is kept for interactive calls
    assert owner.try_acquire() == 0.0
    assert owner.try_acquire() > 0  # and the budget itself still holds for everyone


def test_the_minute_reserve_holds_across_processes(redis_client):
    clock = Clock()
    syncs = [background(redis_client, "5/s,200/min", clock) for _ in range(3)]  # three worker processes
    admitted = 0
    for _ in range(55):  # 55 seconds (inside one minute) of syncs asking as fast as they may
        for sync in syncs:
            while sync.try_acquire() == 0.0:
                admitted += 1
        clock.ms += 1000
    assert admitted == 170  # 200/min less the reserve of 30, though every 1 s window had room
    owner = limiter(redis_client, "5/s,200/min", clock)
    assert owner.try_acquire() == 0.0


def test_background_leaves_free_as_much_of_each_window_as_interactive_calls_used_in_it(redis_client):
    clock = Clock()
    owner, sync = limiter(redis_client, "5/s,200/min", clock), background(redis_client, "5/s,200/min", clock)
    for _ in range(24):  # an onboarding burst: 120 interactive calls in 24 s, the line empty after each second
        assert [owner.try_acquire() for _ in range(5)] == [0.0] * 5
        clock.ms += 1000
    admitted = 0
    for _ in range(20):  # a lull: syncs ask as fast as they may for 20 s (still inside the minute)
        while sync.try_acquire() == 0.0:
            admitted += 1
        clock.ms += 1000
    # The window's free part (80) is no more than what the owners used in it (120): syncs wait (the fixed reserve
    # alone would have let them take 50 more, and the next owners would find the minute nearly full).
    assert admitted == 0
    assert [owner.try_acquire() for _ in range(5)] == [0.0] * 5  # the next owners find their slots
    clock.ms += 60_000  # the burst has left the window: syncs get their share again
    assert [sync.try_acquire() for _ in range(4)] == [0.0] * 4


def test_background_steps_aside_while_an_interactive_caller_waits(redis_client):
    clock = Clock()
    owner = limiter(redis_client, "5/s", clock)
    sync = background(redis_client, "5/s", clock)
    assert [owner.try_acquire() for _ in range(5)] == [0.0] * 5
    assert owner.try_acquire("owner-1") > 0  # refused: it is now registered as waiting
    clock.ms += 1000  # the second has passed: the budget has room again ...
    assert sync.try_acquire() > 0  # ... but not for the sync while the owner waits
    assert owner.try_acquire("owner-1") == 0.0  # the owner comes back and is served first
    assert sync.try_acquire() == 0.0  # then the sync may go


def test_a_waiting_interactive_callers_demand_lapses_if_it_never_comes_back(redis_client):
    clock = Clock()
    owner, sync = limiter(redis_client, "5/s", clock), background(redis_client, "5/s", clock)
    for _ in range(5):
        owner.try_acquire()
    wait = owner.try_acquire("gave-up")  # refused, then its process died
    clock.ms += int(wait * 1000) + DEMAND_GRACE_MS - 100
    assert sync.try_acquire() > 0  # still inside its grace
    clock.ms += 200
    assert sync.try_acquire() == 0.0


def test_the_wait_told_to_background_covers_the_interactive_demand(redis_client):
    clock = Clock()
    owner, sync = limiter(redis_client, "5/s,8/min", clock), background(redis_client, "5/s,8/min", clock)
    for _ in range(8):
        owner.acquire()
    wait = owner.try_acquire("owner-2")
    assert 50 < wait <= 60
    assert sync.try_acquire() >= wait  # no point asking before the owner has been served


def test_background_with_max_hold_raises_budget_wait_instead_of_sleeping(redis_client):
    clock = Clock()
    sync = background(redis_client, "5/s,6/min", clock, max_hold=1.0)
    for _ in range(5):  # background's share of 6/min is 5
        sync.acquire()
    before = clock.ms
    with pytest.raises(BudgetWait) as caught:
        sync.acquire()
    assert caught.value.seconds > 50
    assert clock.ms == before  # it did not sleep at all: the wait is far beyond max_hold


def test_waiting_interactive_callers_keep_their_place_and_come_back_one_slot_apart(redis_client):
    clock = Clock()
    owners = [limiter(redis_client, "5/s,200/min", clock) for _ in range(4)]
    for _ in range(5):
        owners[0].try_acquire()
    waits = [owner.try_acquire(f"owner-{i}") for i, owner in enumerate(owners)]  # four callers refused in turn
    assert waits[0] <= 1.0 and waits == sorted(waits)
    assert waits[3] >= 3 * 0.3  # three ahead of it, one 200/min slot (0.3 s) each: no crowd retrying at once
    line = lambda: [m.decode() for m in redis_client.zrange(owners[0].demand_key, 0, -1)]  # noqa: E731
    assert line() == ["owner-0", "owner-1", "owner-2", "owner-3"]
    owners[1].try_acquire("owner-1")  # asking again keeps its place
    assert line() == ["owner-0", "owner-1", "owner-2", "owner-3"]
    clock.ms += 1000
    assert owners[3].try_acquire("owner-3") == 0.0  # whoever comes back when there is room is served
    assert owners[0].try_acquire("owner-0") == 0.0
    assert line() == ["owner-1", "owner-2"]


def test_an_interactive_caller_that_gives_up_leaves_the_line(redis_client):
    clock = Clock()
    owner = limiter(redis_client, "5/s,5/min", clock, max_wait=5)
    for _ in range(5):
        owner.acquire()
    with pytest.raises(RateLimitTimeout):
        owner.acquire()  # the minute is full: it gives up at once
    assert redis_client.zcard(owner.demand_key) == 0  # no ghost making the callers behind it wait longer


def test_interactive_callers_are_served_in_line_unless_one_ahead_is_late(redis_client):
    clock = Clock()
    owner = limiter(redis_client, "2/s", clock)
    assert owner.try_acquire() == 0.0 and owner.try_acquire() == 0.0
    assert owner.try_acquire("first") > 0 and owner.try_acquire("second") > 0 and owner.try_acquire("third") > 0
    clock.ms += 1000  # two slots free again
    assert owner.try_acquire("third") > 0  # two callers ahead are due back: the slots are theirs
    assert owner.try_acquire("newcomer") > 0  # and a newcomer joins the end of the line
    assert owner.try_acquire("second") == 0.0  # one ahead (first) and two slots: second may go
    assert owner.try_acquire("first") == 0.0
    clock.ms += 1000
    # "third" was told to come back later; if it is more than LATE_AFTER_MS late, the newcomer goes first.
    clock.ms += 5000
    assert owner.try_acquire("newcomer") == 0.0


def test_an_activation_goes_ahead_of_install_checks_already_waiting(redis_client):
    clock = Clock()
    owner = limiter(redis_client, "1/s", clock)
    assert owner.try_acquire() == 0.0
    assert owner.try_acquire("check:a") > 0 and owner.try_acquire("check:b") > 0
    assert owner.try_acquire("activation:962302") > 0  # an owner who linked WhatsApp, later
    line = [m.decode() for m in redis_client.zrange(owner.demand_key, 0, -1)]
    assert line == ["activation:962302", "check:a", "check:b"]
    clock.ms += 1000
    assert owner.try_acquire("check:a") > 0  # the activation is due back first
    assert owner.try_acquire("activation:962302") == 0.0


def test_an_activation_behind_a_crowd_of_waiting_checks_is_told_to_come_back_in_one_slot(redis_client):
    clock = Clock()
    owner = limiter(redis_client, "1/s", clock)
    assert owner.try_acquire() == 0.0  # this second is used up
    for i in range(50):  # fifty install checks wait in line
        assert owner.try_acquire(f"check:{i}") > 0
    # The activation stands ahead of all of them: its wait is the next free slot (1 s), not the 50 slots of the
    # checks ahead of which it goes (50 s: it was spaced as if it stood at the back).
    wait = owner.try_acquire("activation:962302")
    assert 0 < wait <= 1.0
    clock.ms += int(wait * 1000)
    assert owner.try_acquire("check:0") > 0  # the activation is due back first
    assert owner.try_acquire("activation:962302") == 0.0


def test_an_activation_a_little_late_for_its_turn_keeps_its_slot_against_waiting_checks(redis_client):
    clock = Clock()
    owner = limiter(redis_client, "1/s", clock)
    assert owner.try_acquire() == 0.0
    assert owner.try_acquire("check:a") > 0
    wait = owner.try_acquire("activation:962302")  # deferred through Dramatiq: it will come back late
    clock.ms += int(wait * 1000) + 2500  # 2.5 s late (a check this late would have lost its turn)
    assert owner.try_acquire("check:a") > 0
    assert owner.try_acquire("activation:962302") == 0.0


def test_a_slot_taken_ahead_serves_only_its_own_limiters_next_call_and_is_given_back_unused(redis_client):
    from runtime.yclients.ratelimit import BACKGROUND, KEY_PREFIX, prepaid

    clock = Clock()
    interactive = limiter(redis_client, "5/s", clock)
    background = limiter(redis_client, "5/s", clock, priority=BACKGROUND)
    with redis_client.pipeline(transaction=False) as pipe:
        slot = interactive.ahead("check:x")
        slot.queue(pipe)
        slot.answered(pipe.execute()[0])
    log = KEY_PREFIX + "yclients"
    with prepaid(slot):
        background.acquire()  # the same budget, another priority: asks Redis, takes its own entry
        assert redis_client.zcard(log) == 2
        interactive.acquire()  # uses the slot: no new entry
        interactive.acquire()  # the slot is used once
        assert redis_client.zcard(log) == 3
    with redis_client.pipeline(transaction=False) as pipe:
        unused = interactive.ahead("check:y")
        unused.queue(pipe)
        unused.answered(pipe.execute()[0])
    with prepaid(unused):
        assert redis_client.zcard(log) == 4
    assert redis_client.zcard(log) == 3  # given back: the call it was for never went out
