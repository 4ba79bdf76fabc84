"""Revocable onboarding sessions: each salon's session generation, bumped by uninstall, reinstall and take-over.

A session token carries the generation of each of its salons; once the salon's generation has moved
on, the token has ended. Open websockets learn it at once from a `session_ended` message on the
salon's status channel (published directly: it is not a status event, so it never enters the snapshot).
"""
from __future__ import annotations

import json
import logging

import redis

from models.live import channel
from models.salon import Salon

logger = logging.getLogger("aiadmin.sessions")

ENDED = "session_ended"  # the channel message type, and the websocket/JSON error code


def bump(salon: Salon) -> int:
    """Move the salon to a new generation (the caller saves the row, inside its transaction)."""
    salon.session_generation = int(salon.session_generation or 0) + 1
    return salon.session_generation


def current(salon_ids) -> dict[int, int]:
    """The current generation of each salon that exists (a missing salon has none to compare with)."""
    ids = [int(s) for s in salon_ids]
    return {row.salon_id: int(row.session_generation or 0)
            for row in Salon.select(Salon.salon_id, Salon.session_generation).where(Salon.salon_id.in_(ids))}


def announce(redis_client, salon_id: int, generation: int) -> None:
    """Tell open sockets of this salon that sessions older than `generation` ended. Call after the commit;
    advisory (a socket also re-checks on connect), so a Redis outage is logged, not raised."""
    message = json.dumps({"type": ENDED, "seq": 0, "salon_id": int(salon_id), "data": {"generation": int(generation)}})
    try:
        redis_client.publish(channel(salon_id), message)
    except redis.RedisError as exc:
        logger.warning("could not announce the end of sessions of salon %s: %s", salon_id, exc.__class__.__name__)
