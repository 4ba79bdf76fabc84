"""bench/redirect.py's Redis helpers: the stripped side's own database over TCP or a Unix socket (`--redis-socket`),
and the record of how the processes reached Redis."""
import os
import shutil
import tempfile

import redis

from bench.redirect import redis_transports, with_db
from sandbox import redis_server
from tests.support import free_port


def test_the_other_database_is_the_path_of_a_tcp_url_and_the_db_parameter_of_a_socket_url():
    assert with_db("redis://127.0.0.1:6390/0", 1) == "redis://127.0.0.1:6390/1"
    assert with_db("redis://:secret@cache:6390", 2) == "redis://:secret@cache:6390/2"
    assert with_db("unix:///run/aiadmin/redis.sock?db=0", 1) == "unix:///run/aiadmin/redis.sock?db=1"
    assert with_db("unix:///run/aiadmin/redis.sock", 3) == "unix:///run/aiadmin/redis.sock?db=3"
    for url in ("redis://127.0.0.1:6390/0", "unix:///run/aiadmin/redis.sock?db=0"):
        assert redis.connection.parse_url(with_db(url, 1))["db"] == 1


def test_the_transports_count_every_other_connection_by_how_it_reached_redis():
    directory = tempfile.mkdtemp(prefix="rs-")  # short: a socket path has a length limit
    socket_path, port = os.path.join(directory, "redis.sock"), free_port()
    process = redis_server.start(port=port, unix_socket=socket_path)
    others = [redis.Redis(port=port), redis.Redis(unix_socket_path=socket_path),
              redis.Redis(unix_socket_path=socket_path)]
    try:
        redis_server.wait_ready(port=port)
        for client in others:
            client.ping()
        # The query's own connection, over either transport, is not counted.
        expected = {"unix": 2, "tcp": 1}
        assert redis_transports(f"redis://127.0.0.1:{port}/0") == expected
        assert redis_transports(f"unix://{socket_path}?db=0") == expected
    finally:
        for client in others:
            client.close()
        process.terminate()
        process.wait(10)
        shutil.rmtree(directory, ignore_errors=True)
