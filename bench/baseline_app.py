"""The redirect benchmark's baseline: a bare Flask handler doing the redirect's durable work and nothing else.

Per request: the YCLIENTS install check against the same sandbox, made inline with `requests` (one kept-alive
session, the partner token's headers): GET application-status, and (BASELINE_CALLS=status,company, the
default, as the worker's check makes for a one-branch redirect) GET the company for its title; a refusal
unless the status is pending/active; then one INSERT and one Dramatiq enqueue; a 302. No signature, no
limits, no verdict cache, no timeline, no token. Served by gunicorn exactly like the real web tier, side by
side in the same run (`gunicorn 'bench.baseline_app:create_app()'`).
"""
from __future__ import annotations

import os

import dramatiq
import redis
import requests
from dramatiq.brokers.redis import RedisBroker
from flask import Flask, redirect, request
from peewee import CharField, Model

from models.db import make_database

ADMITTED = ("pending", "active")


def yclients_target() -> tuple[str, int, dict]:
    """(API base URL, application id, partner headers) of the sandbox the bare apps call, from the environment."""
    headers = {"Authorization": f"Bearer {os.environ['YCLIENTS_PARTNER_TOKEN']}",
               "Accept": "application/vnd.yclients.v2+json", "Content-Type": "application/json"}
    return os.environ["YCLIENTS_API_URL"].rstrip("/"), int(os.environ.get("YCLIENTS_APP_ID", "18289")), headers


def bare_verdict(get, app_id: int, salon: int, company: bool = True) -> str:
    """The bare apps' install check (this baseline's inline, bench/floor_worker.py's in its actor): "ok", or why not.
    `get(path)` -> (HTTP status, JSON body): the application status must be pending/active and (with `company`) the
    company must have a title, as the worker's check decides for a one-branch redirect."""
    code, body = get(f"/marketplace/salon/{salon}/application/{app_id}")
    status = ((body.get("data") or {}).get("connection_status") or {}).get("status")
    if code != 200 or status not in ADMITTED:
        return f"not confirmed: {code} {status}"
    if company:
        code, body = get(f"/api/v1/company/{salon}")
        if code != 200 or not (body.get("data") or {}).get("title"):
            return f"no company title: {code}"
    return "ok"


def durable_work(table: str):
    """The bare apps' durable work (this baseline's and bench/floor_app.py's): `record(salon)` makes one INSERT into
    `table` and one Dramatiq enqueue. Returns (record, the Redis client, its broker)."""
    db = make_database(os.environ["DATABASE_URL"])

    class Hit(Model):
        salon = CharField()

        class Meta:
            database = db
            table_name = table

    db.connect()
    db.create_tables([Hit])
    db.close()
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    broker = RedisBroker(client=client)
    noop = dramatiq.Actor(lambda salon: None, broker=broker, actor_name="bench_noop", queue_name="bench",
                          priority=0, options={})

    def record(salon: int) -> None:
        with db.connection_context():
            Hit.create(salon=str(salon))
        noop.send(salon)

    return record, client, broker


def bare_flask() -> Flask:
    """A bare Flask app with the health route the benchmark's stack waits for."""
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app


def create_app() -> Flask:
    record, _, _ = durable_work("bench_baseline_hit")
    api, app_id, headers = yclients_target()
    with_company = "company" in os.environ.get("BASELINE_CALLS", "status,company").split(",")
    session = requests.Session()
    session.trust_env = False  # as the real client (runtime/yclients/client.py): no environment scan per call
    app = bare_flask()

    def get(path: str) -> tuple[int, dict]:
        answer = session.get(api + path, headers=headers, timeout=10)
        return answer.status_code, answer.json()

    @app.get("/auth/yclients/redirect")
    def bare():
        salon = int(request.args.get("salon_id", "0"))
        verdict = bare_verdict(get, app_id, salon, with_company)
        if verdict != "ok":
            return verdict, 403
        record(salon)
        return redirect("/marketplace/onboarding?token=x", 302)

    return app
