"""Health endpoints: `/healthz` (liveness) and `/marketplace/health` (readiness; details with a token)."""
from __future__ import annotations

import hmac
import time
from datetime import datetime, timezone

from flask import Blueprint, jsonify, request

from web.context import ctx

blueprint = Blueprint("health", __name__)

SLOW_DB_MS = 1000
SLOW_REDIS_MS = 100


@blueprint.get("/healthz")
def healthz():
    return jsonify(status="ok")


def check_database(database) -> dict:
    started = time.perf_counter()
    try:
        database.connect(reuse_if_open=True)
        database.execute_sql("SELECT 1").fetchone()
        return {"status": "healthy", "latency_ms": round((time.perf_counter() - started) * 1000, 1)}
    except Exception as exc:  # report, never raise: this is the health check
        return {"status": "unhealthy", "error": exc.__class__.__name__}


def check_redis(client) -> dict:
    started = time.perf_counter()
    try:
        client.ping()
        return {"status": "healthy", "latency_ms": round((time.perf_counter() - started) * 1000, 1)}
    except Exception as exc:
        return {"status": "unhealthy", "error": exc.__class__.__name__}


def overall(database: dict, redis: dict) -> str:
    if database["status"] != "healthy":
        return "error"
    if redis["status"] != "healthy":
        return "degraded"
    return "ok"


def authorised(token: str) -> bool:
    header = request.headers.get("Authorization", "")
    return bool(token) and header.startswith("Bearer ") and hmac.compare_digest(
        header[len("Bearer "):].encode(), token.encode())


@blueprint.get("/marketplace/health")
def marketplace_health():
    c = ctx()
    database = check_database(c.database)
    redis = check_redis(c.redis)
    status = overall(database, redis)
    code = 503 if status == "error" else 200
    body = {"status": status, "timestamp": datetime.now(timezone.utc).isoformat()}
    if authorised(c.settings.health_token):
        warnings = []
        if database.get("latency_ms", 0) > SLOW_DB_MS:
            warnings.append(f"database latency high: {database['latency_ms']} ms")
        if redis.get("latency_ms", 0) > SLOW_REDIS_MS:
            warnings.append(f"redis latency high: {redis['latency_ms']} ms")
        from workers.health_details import details

        body.update(environment=c.settings.credentials_configured(), app_env=c.settings.app_env,
                    services={"database": database, "redis": redis}, warnings=warnings,
                    **details(c.redis, c.settings, database=c.database if database["status"] == "healthy" else None))
    return jsonify(body), code
