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
    api = os.environ["YCLIENTS_API_URL"].rstrip("/")
    app_id = int(os.environ.get("YCLIENTS_APP_ID", "18289"))
    calls = os.environ.get("BASELINE_CALLS", "status,company").split(",")
    headers = {"Authorization": f"Bearer {os.environ['YCLIENTS_PARTNER_TOKEN']}",
               "Accept": "application/vnd.yclients.v2+json", "Content-Type": "application/json"}
    session = requests.Session()
    session.trust_env = False  # as the real client (runtime/yclients/client.py): no environment scan per call
    app = bare_flask()

    @app.get("/auth/yclients/redirect")
    def bare():
        salon = int(request.args.get("salon_id", "0"))
        answer = session.get(f"{api}/marketplace/salon/{salon}/application/{app_id}", headers=headers, timeout=10)
        status = ((answer.json().get("data") or {}).get("connection_status") or {}).get("status")
        if answer.status_code != 200 or status not in ADMITTED:
            return f"not confirmed: {answer.status_code} {status}", 403
        if "company" in calls:
            company = session.get(f"{api}/api/v1/company/{salon}", headers=headers, timeout=10)
            if company.status_code != 200 or not (company.json().get("data") or {}).get("title"):
                return f"no company title: {company.status_code}", 403
        record(salon)
        return redirect("/marketplace/onboarding?token=x", 302)

    return app
