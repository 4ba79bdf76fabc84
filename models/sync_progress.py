"""The overall progress of a sync run across every entity: one number for one bar, never going back."""
from __future__ import annotations

# Each entity's share of the bar: roughly its share of the requests of a typical salon. Fixed shares keep
# the bar monotonic: learning a later entity's size late cannot push it back.
WEIGHTS = {"company": 2, "service_categories": 2, "services": 3, "staff": 3, "clients": 40, "records": 50}


def _fraction(cp: dict) -> float:
    if cp.get("status") == "done":
        return 1.0
    total, done = int(cp.get("total") or 0), int(cp.get("done") or 0)
    return min(1.0, done / total) if total > 0 else 0.0


def overall_percent(checkpoints: dict) -> int:
    """0..100 across every entity of the run's checkpoints (a run of records only counts records alone)."""
    weights = {entity: WEIGHTS.get(entity, 1) for entity, cp in (checkpoints or {}).items() if isinstance(cp, dict)}
    if not weights:
        return 0
    share = sum(w * _fraction(checkpoints[entity]) for entity, w in weights.items()) / sum(weights.values())
    return min(100, int(share * 100))
