"""The redirect benchmark's floor: the shape ARCHITECTURE fixes for the redirect, with nothing else in it.

The web may not call YCLIENTS (ARCHITECTURE §2): it enqueues a job and waits for the worker's answer. This
app does exactly that and no more, to show what the shape itself costs next to the baseline (bench/baseline_app.py,
the calls inline): per request, one Dramatiq message to `floor_check` (bench/floor_worker.py: the same two
YCLIENTS calls as the real check, with urllib3 as our client makes them, then the answer pushed to a reply
list), a BLPOP on that reply, then one INSERT, one Dramatiq enqueue and a 302, as the baseline. No signature,
no limits, no verdict cache, no timeline, no token, no logging. Served by gunicorn like the real web tier.
"""
from __future__ import annotations

import uuid

import dramatiq
from flask import Flask, redirect, request

from bench.baseline_app import bare_flask, durable_work

QUEUE = "bench_floor"
REPLY_PREFIX = "bench:floor:reply:"


def create_app() -> Flask:
    record, client, broker = durable_work("bench_floor_hit")  # as the baseline's
    check = dramatiq.Actor(lambda salon, reply: None, broker=broker, actor_name="floor_check", queue_name=QUEUE,
                           priority=0, options={})  # the sender's side only: bench/floor_worker.py runs it
    app = bare_flask()

    @app.get("/auth/yclients/redirect")
    def floor():
        salon = int(request.args.get("salon_id", "0"))
        reply = REPLY_PREFIX + uuid.uuid4().hex
        check.send(salon, reply)
        answer = client.blpop([reply], timeout=8)
        if not answer or answer[1] != b"ok":
            return f"not confirmed: {answer[1] if answer else 'no answer'}", 403
        record(salon)
        return redirect("/marketplace/onboarding?token=x", 302)

    return app
