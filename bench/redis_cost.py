"""Redis' own time per command and per Lua script while a benchmark runs: what `python -m bench.redirect_split --redis`
prints per redirect (docs/performance/redirect.md, round 6).

Redis' SLOWLOG with a threshold of 0 µs records every command with its duration (`INFO commandstats` has no
per-script figures: every script is one `evalsha` line). A script is named by its SHA-1 (EVALSHA) or the start of its
text (EVAL), from the scripts this code base sends; the commands a script runs are logged too (client `?:0`) but are
inside the script's own duration, so they are left out. The SLOWLOG settings are put back afterwards. Recording has a
cost, inside the durations: every command is logged, a script's own commands too, so a script with many commands
reads dearer than it is; read the rows as an order more than as exact µs. Redis' whole CPU over the same time
(INFO cpu: the commands, reading and writing sockets, the recording) is the last row.
"""
from __future__ import annotations

import contextlib
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

LUA_CLIENT = b"?:0"  # the client address SLOWLOG gives the commands a Lua script runs
EVAL_PREFIX = 100  # SLOWLOG keeps 128 characters of an argument: a script text is matched by this much


def known_scripts() -> dict[str, str]:
    """{label: Lua text (str or bytes)} of every script the redirect and its check send to Redis."""
    import dramatiq.brokers.redis as dramatiq_redis

    from models import live
    from runtime.queue_bell import ENQUEUE_LUA
    from runtime.yclients import ratelimit as budget
    from web.marketplace import check_gate
    from web.marketplace import ratelimit as web_limits

    return {"YCLIENTS budget (limiter)": budget._ACQUIRE, "install check gate": check_gate._GATE,
            "enqueue + bell": ENQUEUE_LUA, "Dramatiq dispatch (fetch, ack)": dramatiq_redis._scripts["dispatch"],
            "live status: set state": live._SET_STATE, "live status: publish": live._PUBLISH,
            "web limits: hit": web_limits._HIT, "web limits: within budget": web_limits._WITHIN_BUDGET}


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


@dataclass
class Recorded:
    """Every top-level command Redis ran inside `every_command`: calls and µs, by command or script."""

    scripts: dict[str, str]
    calls: dict = field(default_factory=lambda: defaultdict(int))
    usec: dict = field(default_factory=lambda: defaultdict(int))
    lost: bool = False  # more commands than the log held: the figures are a lower bound
    cpu_seconds: float = 0.0  # Redis' whole CPU meanwhile (INFO cpu: commands, sockets, the recording itself)

    def add(self, entries) -> None:
        texts = {label: _text(text) for label, text in self.scripts.items()}
        by_sha = {hashlib.sha1(text.encode()).hexdigest(): label for label, text in texts.items()}
        by_prefix = defaultdict(list)  # scripts that start alike (a shared Lua function) share a name under EVAL
        for label, text in texts.items():
            by_prefix[text[:EVAL_PREFIX]].append(label)
        for entry in entries:
            if entry.get("client_address") == LUA_CLIENT:
                continue  # inside a script's duration
            words = _text(entry["command"]).split(" ", 2)
            name = words[0].upper()
            if name in ("SLOWLOG", "CONFIG"):
                continue  # the recording itself
            if name in ("EVALSHA", "EVALSHA_RO") and len(words) > 1:
                name = by_sha.get(words[1].lower(), f"script {words[1][:12]}")
            elif name in ("EVAL", "EVAL_RO") and len(words) > 1:
                text = _text(entry["command"])[len(words[0]) + 1:]
                name = next((" or ".join(labels) for prefix, labels in by_prefix.items() if text.startswith(prefix)),
                            f"script text {text[:24]!r}") + " (EVAL)"
            self.calls[name] += 1
            self.usec[name] += int(entry["duration"])

    def per(self, n: int) -> dict:
        """{name: {"calls", "us"}} per unit of work (n of them), costliest first, and the total."""
        rows = {name: {"calls": round(self.calls[name] / n, 2), "us": round(self.usec[name] / n, 1)}
                for name in sorted(self.usec, key=self.usec.get, reverse=True)}
        rows["total"] = {"calls": round(sum(self.calls.values()) / n, 2), "us": round(sum(self.usec.values()) / n, 1)}
        rows["Redis' whole CPU (INFO cpu)"] = {"calls": 0, "us": round(1e6 * self.cpu_seconds / n, 1)}
        return rows


def _cpu_seconds(client) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


@contextlib.contextmanager
def every_command(client, capacity: int = 1_000_000, scripts: dict[str, str] | None = None):
    """Inside: Redis logs every command (on `client`'s server); afterwards `Recorded` holds them and the SLOWLOG
    settings are what they were. `capacity`: entries kept (the oldest go first; then `lost` is set)."""
    before = {key: client.config_get(key)[key] for key in ("slowlog-log-slower-than", "slowlog-max-len")}
    recorded = Recorded(known_scripts() if scripts is None else scripts)
    cpu = _cpu_seconds(client)
    client.config_set("slowlog-max-len", capacity)
    client.config_set("slowlog-log-slower-than", 0)
    client.slowlog_reset()
    try:
        yield recorded
    finally:
        client.config_set("slowlog-log-slower-than", before["slowlog-log-slower-than"])
        recorded.cpu_seconds = _cpu_seconds(client) - cpu
        entries = client.slowlog_get(capacity)
        recorded.lost = client.slowlog_len() >= capacity
        client.slowlog_reset()
        client.config_set("slowlog-max-len", before["slowlog-max-len"])
        recorded.add(entries)
