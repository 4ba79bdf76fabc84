"""Small statistics helpers for benchmark reports (medians and percentiles, no numpy needed)."""
from __future__ import annotations

import statistics


def percentile(values, p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(values, unit_scale: float = 1000.0) -> dict:
    """p50/p95/p99/max in milliseconds (values in seconds by default)."""
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": statistics.median(values) * unit_scale,
            "p95": percentile(values, 95) * unit_scale, "p99": percentile(values, 99) * unit_scale,
            "max": max(values) * unit_scale}
