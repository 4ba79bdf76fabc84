"""The Redis client every process builds once from settings (broker, pub/sub, rate limits, locks)."""
from __future__ import annotations

import redis

from runtime.redis_readiness import parser_class
from runtime.settings import Settings

REDIS_POOL_SIZE = 100  # per process (redis-py's default cap, now waited for instead of refused)


def connection_options() -> dict:
    """What every connection pool of ours passes to its connections (runtime.redis_readiness)."""
    parser = parser_class()
    return {"parser_class": parser} if parser else {}


def redis_client(settings: Settings) -> redis.Redis:
    # A blocking pool: a burst of more concurrent users than connections (e.g. every browser reconnecting
    # its websocket after a deploy) waits for a free connection instead of failing with MaxConnectionsError.
    pool = redis.BlockingConnectionPool.from_url(settings.redis_url, max_connections=REDIS_POOL_SIZE, timeout=10,
                                                 socket_timeout=10, socket_connect_timeout=5, health_check_interval=30,
                                                 **connection_options())
    return redis.Redis(connection_pool=pool)
