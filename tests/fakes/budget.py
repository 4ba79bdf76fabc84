"""StubYclients behind the real shared limiter (runtime/yclients/ratelimit.py), as YclientsClient puts every
call behind it: each call first takes budget at the wrapper's priority, then is logged in `admitted` (shared
between wrappers, so a test sees the order in which YCLIENTS would have received the calls)."""
from __future__ import annotations

import threading

from runtime.settings import RateLimit
from runtime.yclients.ratelimit import BACKGROUND, INTERACTIVE, KEY_PREFIX, SlidingWindowLimiter

# The methods that are one YCLIENTS request each (the stub's derived ones call the others on the stub itself).
CALLS = {"activation_callback", "integration_status", "installation_status", "is_installed_and_active", "company",
         "company_title", "staff_schedule", "service_categories", "services", "staff", "clients_page",
         "records_page", "uninstall"}


class Budgeted:
    def __init__(self, stub, limiter, admitted: list, label: str):
        self.stub, self.limiter, self.admitted, self.label = stub, limiter, admitted, label
        self.lock = threading.Lock()

    def __getattr__(self, name):
        target = getattr(self.stub, name)
        if name not in CALLS:
            return target

        def call(salon_id, *args, **kwargs):
            # the activation keeps its place in line across messages, as YclientsApi.activation_callback does
            self.limiter.acquire(f"activation:{int(salon_id)}" if name == "activation_callback" else None)
            with self.lock:
                self.admitted.append((self.label, name, int(salon_id)))
            return target(salon_id, *args, **kwargs)

        return call


def budgeted_pair(stub, redis_client, budget: str, admitted: list | None = None):
    """(background api, interactive api) over one stub and one shared budget, as the worker's container has
    them: background never holds a thread past 1 s (BudgetWait), interactive waits its turn."""
    admitted = [] if admitted is None else admitted
    rate = RateLimit.parse(budget)
    background = SlidingWindowLimiter(redis_client, rate, priority=BACKGROUND, max_hold=1.0, margin_ms=0)
    interactive = SlidingWindowLimiter(redis_client, rate, priority=INTERACTIVE, max_hold=1.0, margin_ms=0)
    return (Budgeted(stub, background, admitted, "background"), Budgeted(stub, interactive, admitted, "interactive"),
            admitted)


def redis_now_ms(redis_client) -> int:
    seconds, micros = redis_client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def fill_log(redis_client, count: int, name: str = "yclients") -> None:
    """`count` requests admitted just now (by the Redis clock), as if other processes had used them."""
    now = redis_now_ms(redis_client)
    redis_client.zadd(KEY_PREFIX + name, {f"used-{i}": now for i in range(count)})
    redis_client.pexpire(KEY_PREFIX + name, 120_000)


def interactive_waiting(redis_client, for_ms: int, name: str = "yclients") -> None:
    """An interactive caller (in another process) is waiting for budget for the next `for_ms`."""
    now = redis_now_ms(redis_client)
    for key, score in ((KEY_PREFIX + name + ":demand", now), (KEY_PREFIX + name + ":demand:lapse", now + for_ms)):
        redis_client.zadd(key, {"someone-waiting": score})
        redis_client.pexpire(key, for_ms + 1000)
