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
