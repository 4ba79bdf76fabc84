"""The floor the YCLIENTS budget allows for each onboarding's interactive calls (benchmark 2).

From the fleet sandbox's request log (bench/fleet_sandbox.py) we take the interactive requests each
onboarding needed: the install check's application status (`GET /marketplace/salon/{id}/application/..`)
and company card (`GET /api/v1/company/{id}` before that salon's callback: after it, the company card is the
sync's), and the activation callback (`POST /marketplace/partner/callback/redirect`); a salon's first
occurrence of each. They are replayed through an exact simulation of the sliding windows (every window of
the budget, no margin), first come first served, each from the moment it became ready: the status call
when the owner pressed «Подключить» (the redirect), the company call when the status call was admitted,
the callback at the scan. Syncs take nothing in this replay. A salon's floor is its simulated callback
admission minus its scan: what first-come-first-served use of the whole budget by the interactive calls alone
would give it (the install checks assumed to have happened at their ideal times, i.e. without the give-ups
and re-presses a saturated budget causes in reality).
"""
from __future__ import annotations

import bisect
import heapq
import re

STATUS = re.compile(r"^/marketplace/salon/(\d+)/application/\d+$")
COMPANY = re.compile(r"^/api/v1/company/(\d+)$")
CALLBACK = "/marketplace/partner/callback/redirect"


def needed_requests(log: list) -> dict[int, set]:
    """{salon: {"status", "company", "callback"}} as found in the log (what each onboarding actually needed)."""
    needed: dict[int, set] = {}
    called_back: set = set()
    for _t, method, path, salon, status in sorted(log, key=lambda row: row[0]):
        if salon is None or status == 429:
            continue
        salon = int(salon)
        if method == "POST" and path == CALLBACK:
            needed.setdefault(salon, set()).add("callback")
            called_back.add(salon)
        elif method == "GET" and STATUS.match(path):
            needed.setdefault(salon, set()).add("status")
        elif method == "GET" and COMPANY.match(path) and salon not in called_back:
            needed.setdefault(salon, set()).add("company")
    return needed


class Windows:
    """Exact sliding windows: a request at t is admitted iff every window (t - w, t] holds < limit admissions."""

    def __init__(self, budget):
        self.budget = tuple(budget)  # ((limit, window_s), ...)
        self.times: list[float] = []

    def earliest(self, t: float) -> float:
        while True:
            moved = False
            for limit, window in self.budget:
                inside = len(self.times) - bisect.bisect_right(self.times, t - window)
                if inside >= limit:
                    blocking = self.times[len(self.times) - limit]  # the oldest of the last `limit`
                    if blocking + window > t:
                        t = blocking + window
                        moved = True
            if not moved:
                return t

    def admit(self, t: float) -> float:
        t = self.earliest(max(t, self.times[-1] if self.times else t))
        self.times.append(t)
        return t


def floors(log: list, pressed: dict, scanned: dict, budget) -> dict[int, float]:
    """Seconds from scan to the earliest callback admission the budget allows, per salon that has a scan."""
    needed = needed_requests(log)
    queue, seq = [], 0
    for salon, kinds in needed.items():
        if "status" in kinds and salon in pressed:
            heapq.heappush(queue, (pressed[salon], seq, salon, "status"))
            seq += 1
        elif "company" in kinds and salon in pressed:
            heapq.heappush(queue, (pressed[salon], seq, salon, "company"))
            seq += 1
        if "callback" in kinds and salon in scanned:
            heapq.heappush(queue, (scanned[salon], seq, salon, "callback"))
            seq += 1
    windows, admitted = Windows(budget), {}
    while queue:
        ready, _, salon, kind = heapq.heappop(queue)
        at = windows.admit(ready)
        if kind == "status" and "company" in needed[salon]:
            seq += 1
            heapq.heappush(queue, (at, seq, salon, "company"))
        if kind == "callback":
            admitted[salon] = at
    return {salon: max(0.0, at - scanned[salon]) for salon, at in admitted.items()}
