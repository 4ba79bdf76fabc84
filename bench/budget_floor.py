"""The floor the YCLIENTS budget allows for each onboarding's activation (benchmark 2).

From the fleet sandbox's request log (bench/fleet_sandbox.py) we take the interactive requests each
onboarding needed: the install check's application status (`GET /marketplace/salon/{id}/application/..`)
and company card (`GET /api/v1/company/{id}` before that salon's callback: after it, the company card is the
sync's), and the activation callback (`POST /marketplace/partner/callback/redirect`); a salon's first
occurrence of each. The whole chain is replayed through an exact simulation of the sliding windows (every
window of the budget, no margin; syncs take nothing):

- the status call is ready when the owner pressed «Подключить»; the company call when the status call was
  admitted; the callback when the company call was admitted plus that salon's own non-budget time from its
  last check request to its scan as measured (the verdict reaching the page, the QR, the simulated scan);
- at every free slot the best-placed ready request goes first: callbacks, then company calls, then status
  calls (finish what is started, as the limiter does), first come first served within each kind.

A salon's floor is its simulated callback admission minus its simulated scan: the activation latency the budget
alone would give it if every interactive call were made at the earliest moment the budget allows. Replaying
the checks at ideal times but the scans at their measured times would mix two timelines (the scans were late
because the real checks were), and give a floor no schedule can reach.
"""
from __future__ import annotations

import bisect
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


KIND_ORDER = {"callback": 0, "company": 1, "status": 2}


def _check_done_at(log: list) -> dict[int, float]:
    """When each salon's install check made its last YCLIENTS request before its callback (measured)."""
    done: dict[int, float] = {}
    called_back: set = set()
    for t, method, path, salon, status in sorted(log, key=lambda row: row[0]):
        if salon is None or status == 429:
            continue
        salon = int(salon)
        if method == "POST" and path == CALLBACK:
            called_back.add(salon)
        elif method == "GET" and (STATUS.match(path) or COMPANY.match(path)) and salon not in called_back:
            done[salon] = float(t)
    return done


def floors(log: list, pressed: dict, scanned: dict, budget) -> dict[int, float]:
    """Seconds from the simulated scan to the simulated callback admission, per salon that has a press and a scan."""
    needed = needed_requests(log)
    check_done = _check_done_at(log)
    # Non-budget time between a salon's last check request and its scan, as measured (never negative).
    scan_delay = {salon: max(0.0, scanned[salon] - check_done.get(salon, scanned[salon])) for salon in scanned}
    ready: list = []  # (ready_at, seq, salon, kind)
    seq = 0

    def add(at, salon, kind):
        nonlocal seq
        ready.append((at, seq, salon, kind))
        seq += 1

    for salon, kinds in needed.items():
        if salon not in pressed or salon not in scanned or "callback" not in kinds:
            continue
        first = "status" if "status" in kinds else "company" if "company" in kinds else "callback"
        add(pressed[salon] + (scan_delay[salon] if first == "callback" else 0.0), salon, first)
    windows, sim_scan, admitted = Windows(budget), {}, {}
    while ready:
        earliest_ready = min(item[0] for item in ready)
        slot = windows.earliest(max(earliest_ready, windows.times[-1] if windows.times else earliest_ready))
        candidates = [item for item in ready if item[0] <= slot]
        pick = min(candidates, key=lambda item: (KIND_ORDER[item[3]], item[0], item[1]))
        ready.remove(pick)
        windows.times.append(slot)
        _, _, salon, kind = pick
        if kind == "status" and "company" in needed[salon]:
            add(slot, salon, "company")
        elif kind in ("status", "company"):
            sim_scan[salon] = slot + scan_delay[salon]
            add(sim_scan[salon], salon, "callback")
        else:
            admitted[salon] = slot
            sim_scan.setdefault(salon, pressed[salon] + scan_delay[salon])
    return {salon: max(0.0, at - sim_scan[salon]) for salon, at in admitted.items()}
