"""Fault knobs for the sandbox (`POST /_sandbox/faults`): error rate, latency, HTML pages, activation answers."""
from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field


@dataclass
class Faults:
    error_rate: float = 0.0  # share of data requests answered 500 (JSON, or HTML when html_errors)
    html_errors: bool = False  # errors come as an HTML page (like a CDN) instead of the JSON envelope
    latency_ms: int = 0  # added to every API answer
    # Forced answers of the activation callback, consumed one per call: e.g. [500, 301] or [403].
    # 403 answers "already installed" (and marks the salon installed); 401 and 422 are errors;
    # "html" is a 502 HTML page.
    activation: list = field(default_factory=list)
    activation_status: int | None = None  # applied to every activation call while set
    # Inconvenient answers the real API gives (reference §5.2): lists without meta.total_count, and record
    # times without an offset (salon-local wall time, as in YCLIENTS' `date` field).
    omit_total_count: bool = False
    naive_datetimes: bool = False
    # The application-status method while set: 403 (deny: "Нет доступа к приложению"), 404 (not installed),
    # 500/502/503 (fail, JSON), "html" (a 502 HTML page), "timeout" (answers after 30 s).
    status_answer: int | str | None = None
    seed: int = 1

    def update(self, changes: dict) -> None:
        for key, value in changes.items():
            if not hasattr(self, key):
                raise KeyError(key)
            setattr(self, key, value)


class FaultState:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.faults = Faults()
            self.random = random.Random(self.faults.seed)

    def update(self, changes: dict) -> dict:
        with self.lock:
            self.faults.update(changes)
            if "seed" in changes:
                self.random = random.Random(self.faults.seed)
            return asdict(self.faults)

    def snapshot(self) -> dict:
        with self.lock:
            return asdict(self.faults)

    def roll_error(self) -> bool:
        with self.lock:
            return self.faults.error_rate > 0 and self.random.random() < self.faults.error_rate

    def next_activation(self):
        with self.lock:
            if self.faults.activation:
                return self.faults.activation.pop(0)
            return self.faults.activation_status
