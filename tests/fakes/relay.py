"""Driving the bridge relay in unit tests: deliver what the simulator queued, read what was published."""
from __future__ import annotations


def deliver(sim, relay, start=0):
    """Post every webhook the simulator emitted since index `start`, as WAHA would; returns the new index."""
    events = sim.core.events
    for envelope in events[start:]:
        response = relay.post_event(envelope)
        assert response.status_code == 200, response.get_data(as_text=True)
    return len(events)


def published(live, salon_id=42):
    return live.snapshot(salon_id)
