"""Hypothesis strategies for deeply nested JSON bodies."""
from __future__ import annotations

from hypothesis import strategies as st

from runtime import json_limits

openers = st.sampled_from(["[", "{\"a\":", "[{\"k\":", "{\"event\":\"uninstall\",\"salon_id\":962302,\"x\":"])


closers = {"[": "]", "{\"a\":": "}", "[{\"k\":": "}]", "{\"event\":\"uninstall\",\"salon_id\":962302,\"x\":": "}"}


@st.composite
def nested(draw):
    """Nesting from 1 to 3,000 levels, balanced or not, sometimes hiding brackets inside strings."""
    opener = draw(openers)
    depth = draw(st.integers(1, 3000) | st.sampled_from([json_limits.MAX_DEPTH, json_limits.MAX_DEPTH + 1, 1000]))
    core = draw(st.sampled_from(["1", "null", "\"[[[[\"", "\"\\\\\"", "\"\\\"]]]\"", ""]))
    close = draw(st.sampled_from(["all", "none", "half"]))
    n_close = {"all": depth, "none": 0, "half": depth // 2}[close]
    text = opener * depth + core + closers[opener] * n_close
    if draw(st.booleans()):
        text = "{\"partner_token\":\"x\",\"resource\":\"record\",\"company_id\":962302,\"data\":" + text + "}"
    return text.encode()
