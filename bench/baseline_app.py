"""The redirect benchmark's baseline: a bare Flask handler that only does a SQLite insert and a Dramatiq enqueue.

Served by gunicorn exactly like the real web tier, side by side in the same run
(`gunicorn 'bench.baseline_app:create_app()'`).
"""
from __future__ import annotations

import os

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from flask import Flask, redirect, request
from peewee import CharField, Model

from models.db import make_database


def create_app() -> Flask:
    db = make_database(os.environ["DATABASE_URL"])

    class Hit(Model):
        salon = CharField()

        class Meta:
            database = db
            table_name = "bench_baseline_hit"

    db.connect()
    db.create_tables([Hit])
    db.close()
    broker = RedisBroker(url=os.environ["REDIS_URL"])
    noop = dramatiq.Actor(lambda salon: None, broker=broker, actor_name="bench_noop", queue_name="bench",
                          priority=0, options={})
    app = Flask(__name__)

    @app.get("/auth/yclients/redirect")
    def bare():
        salon = request.args.get("salon_id", "0")
        with db.connection_context():
            Hit.create(salon=salon)
        noop.send(salon)
        return redirect("/marketplace/onboarding?token=x", 302)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app
