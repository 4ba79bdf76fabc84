"""A burst of more concurrent Redis users than the pool holds waits for a connection instead of failing
(found by the websocket benchmark: 200 sockets connecting at once got MaxConnectionsError, and the error
page was written onto the upgraded socket)."""
from concurrent.futures import ThreadPoolExecutor

from runtime import redis_client as broker


def test_more_concurrent_users_than_connections_wait_instead_of_failing(settings, redis_url):
    client = broker.redis_client(settings.replace(redis_url=redis_url))
    users = broker.REDIS_POOL_SIZE + 30

    def hold_a_connection(i):
        return client.blpop([f"nothing:{i}"], timeout=0.2)  # keeps its connection for 0.2 s

    with ThreadPoolExecutor(max_workers=users) as pool:
        results = list(pool.map(hold_a_connection, range(users)))
    assert results == [None] * users
