"""Running `aiadmin` in-process, and a stand-in worker that publishes sync events when a sync is enqueued."""
from __future__ import annotations

import threading

from models.live import LiveStatus
from workers.cli import main


def run(capsys, settings, *argv):
    code = main(list(argv), settings=settings)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def publish_when_enqueued(redis_client, events):
    """Play the worker: once the sync message is on the queue, publish `sync` events."""
    live = LiveStatus(redis_client)

    def worker():
        for _ in range(400):
            if redis_client.llen("dramatiq:sync"):
                break
            threading.Event().wait(0.01)
        for data in events:
            live.publish(962302, "sync", data)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    return thread
