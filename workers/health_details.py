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
FAILING_ATTEMPT_ALERT = 3  # a job of a salon failing its 3rd attempt (minutes of trouble, not a blip)
FAILED_SYNC_DAYS = 7  # failed full syncs younger than this are listed (and alerted)
LISTED = 20  # at most this many salons per list


def failing_jobs(redis_client, now: float | None = None) -> list[dict]:
    """Where failing jobs stand across salons (workers/retry_state.py): attempt k of n, error, next retry."""
    from workers import retry_state
    from workers.support.status import retries_of

    entries = retry_state.recent(redis_client, LISTED, now)
    return [{"salon_id": e["salon_id"], **retry} for e, retry in zip(entries, retries_of(entries))]


def failed_full_syncs(now: float | None = None) -> list[dict]:
    """Salons whose latest full sync failed (recently), even when a newer incremental sync succeeded."""
    import datetime

    from peewee import fn

    from models.sync_run import FAILED, SyncRun
    from workers.support.render import iso, last_line

    now = time.time() if now is None else now
    since = datetime.datetime.fromtimestamp(now - FAILED_SYNC_DAYS * 86400, datetime.timezone.utc).replace(tzinfo=None)
    latest = (SyncRun.select(SyncRun.salon_id, fn.MAX(SyncRun.id).alias("last_id"))
              .where((SyncRun.kind == "full") & (SyncRun.started_at >= since)).group_by(SyncRun.salon_id))
    runs = (SyncRun.select().where(SyncRun.id.in_([row.last_id for row in latest]) & (SyncRun.status == FAILED))
            .order_by(SyncRun.id.desc()).limit(LISTED))
    return [{"salon_id": run.salon_id, "sync_id": run.id, "started_at": iso(run.started_at),
             "finished_at": iso(run.finished_at), "error": last_line(run.error, 300) or None} for run in runs]


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


def alerts_of(roles: dict, gateway: dict, queues: dict, budget: dict, failing=(), failed_syncs=()) -> list[str]:
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
    for job in failing:
        if job["gave_up"] or (job["attempt"] or 0) >= FAILING_ATTEMPT_ALERT:
            alerts.append(f"salon {job['salon_id']}: {job['actor']} attempt {job['attempt']} of {job['max_attempts']} "
                          f"failed: {job['error']}" + ("; no retry left" if job["gave_up"] else
                                                       f"; next retry {job['next_retry_at']}"))
    for sync in failed_syncs:
        alerts.append(f"salon {sync['salon_id']}: full sync failed at {sync['finished_at']}: {sync['error']}")
    return alerts


def details(redis_client, settings, now: float | None = None, database=None) -> dict:
    """Everything above; a part that cannot be read says so instead of failing the health answer.
    `database` (connected) adds the failed full syncs."""
    from bridge import gateway_probe
    from workers import heartbeat

    parts = {}
    for name, read in (("roles", lambda: heartbeat.read(redis_client, now)),
                       ("gateway", lambda: gateway_probe.read(redis_client, now)),
                       ("queues", lambda: queue_stats(redis_client, now=now)),
                       ("yclients_budget", lambda: budget_use(redis_client, settings.yclients_rate_limit)),
                       ("failing_jobs", lambda: failing_jobs(redis_client, now))):
        try:
            parts[name] = read()
        except Exception as exc:  # Redis down: the database part of the answer still stands
            parts[name] = {"unavailable": type(exc).__name__}
    try:
        parts["failed_full_syncs"] = failed_full_syncs(now) if database is not None else []
    except Exception as exc:  # the database part of the answer (`services.database`) says what is wrong
        parts["failed_full_syncs"] = {"unavailable": type(exc).__name__}
    if any(isinstance(part, dict) and "unavailable" in part for part in parts.values()):
        parts["alerts"] = ["health details incomplete: Redis or the database did not answer"]
    else:
        parts["alerts"] = alerts_of(parts["roles"], parts["gateway"], parts["queues"], parts["yclients_budget"],
                                    parts["failing_jobs"], parts["failed_full_syncs"])
    return parts
