"""What the detailed health answer adds for ops: role heartbeats, the gateway, queue lag and age, YCLIENTS
budget use, and the alerts they raise (thresholds documented in docs/operations.md, "Alerts")."""
from __future__ import annotations

import json
import time

from workers.metrics_queues import NAMESPACE, known_queues

# Seconds the head of a queue may wait for a worker before it is an alert. Syncs queue behind each other
# on purpose (prefetch 1, the shared budget), so their threshold is larger.
QUEUE_LAG_ALERT = {"sync": 900.0}
DEFAULT_QUEUE_LAG_ALERT = 60.0
BUDGET_ALERT_PCT = 90.0  # of any YCLIENTS budget window in use right now


def queue_stats(redis_client, queues=None, now: float | None = None) -> dict[str, dict]:
    """Per queue: waiting, delayed (retries), dead letters, the oldest waiting message's age (since it was
    first sent) and its lag (since it became due: a retried message is due at its eta, not at its birth)."""
    now = time.time() if now is None else now
    stats = {}
    for queue in queues or known_queues():
        key = f"{NAMESPACE}:{queue}"
        with redis_client.pipeline(transaction=False) as pipe:
            pipe.llen(key).zcard(f"{key}.DQ").zcard(f"{key}.XQ").lindex(key, 0)
            waiting, delayed, dead, head = pipe.execute()
        age = lag = 0.0
        if head:
            raw = redis_client.hget(f"{key}.msgs", head)
            try:
                message = json.loads(raw) if raw else {}
                born = float(message["message_timestamp"]) / 1000.0
                due = float((message.get("options") or {}).get("eta") or message["message_timestamp"]) / 1000.0
                age, lag = max(0.0, now - born), max(0.0, now - due)
            except (ValueError, KeyError, TypeError):
                pass
        stats[queue] = {"waiting": waiting, "delayed": delayed, "dead": dead,
                        "oldest_age_seconds": round(age, 1), "lag_seconds": round(lag, 1)}
    return stats


def budget_use(redis_client, rate_limit, name: str = "yclients") -> dict:
    """The shared YCLIENTS budget (workers/yclients/ratelimit.py) as it stands: requests in each window."""
    from workers.yclients.ratelimit import KEY_PREFIX

    seconds, micros = redis_client.time()  # the limiter's own clock
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    windows, wait = [], 0.0
    for limit, window in rate_limit.windows:
        window_ms = window * 1000
        used = redis_client.zcount(KEY_PREFIX + name, f"({now_ms - window_ms}", "+inf")
        if used >= limit:
            blocking = redis_client.zrangebyscore(KEY_PREFIX + name, f"({now_ms - window_ms}", "+inf",
                                                  start=used - limit, num=1, withscores=True)
            if blocking:
                wait = max(wait, (blocking[0][1] + window_ms - now_ms) / 1000.0)
        windows.append({"limit": limit, "window_seconds": window, "used": used,
                        "use_pct": round(100.0 * used / limit, 1)})
    return {"windows": windows, "wait_seconds": round(max(0.0, wait), 1)}


def alerts_of(roles: dict, gateway: dict, queues: dict, budget: dict) -> list[str]:
    alerts = [f"role {role} has no live process (last beat {info['last_beat_age_seconds']} s ago)"
              if info["last_beat_age_seconds"] is not None else f"role {role} has never reported"
              for role, info in roles.items() if info["status"] != "ok"]
    if gateway["status"] != "reachable":
        alerts.append(f"WhatsApp gateway {gateway['status']}" + (f" ({gateway['error']})" if gateway["error"] else ""))
    for queue, info in queues.items():
        threshold = QUEUE_LAG_ALERT.get(queue, DEFAULT_QUEUE_LAG_ALERT)
        if info["lag_seconds"] > threshold:
            alerts.append(f"queue {queue} lags {info['lag_seconds']:.0f} s (threshold {threshold:.0f} s)")
        if info["dead"]:
            alerts.append(f"queue {queue} has {info['dead']} dead-lettered messages (aiadmin failed)")
    for window in budget.get("windows", []):
        if window["use_pct"] >= BUDGET_ALERT_PCT:
            alerts.append(f"YCLIENTS budget {window['used']}/{window['limit']} per {window['window_seconds']} s in use")
    return alerts


def details(redis_client, settings, now: float | None = None) -> dict:
    """Everything above; a part that cannot be read says so instead of failing the health answer."""
    from bridge import gateway_probe
    from workers import heartbeat

    parts = {}
    for name, read in (("roles", lambda: heartbeat.read(redis_client, now)),
                       ("gateway", lambda: gateway_probe.read(redis_client, now)),
                       ("queues", lambda: queue_stats(redis_client, now=now)),
                       ("yclients_budget", lambda: budget_use(redis_client, settings.yclients_rate_limit))):
        try:
            parts[name] = read()
        except Exception as exc:  # Redis down: the database part of the answer still stands
            parts[name] = {"unavailable": type(exc).__name__}
    if any("unavailable" in part for part in parts.values()):
        parts["alerts"] = ["health details incomplete: Redis did not answer"]
    else:
        parts["alerts"] = alerts_of(parts["roles"], parts["gateway"], parts["queues"], parts["yclients_budget"])
    return parts
