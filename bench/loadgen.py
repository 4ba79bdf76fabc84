"""An open-loop HTTP/1.1 load generator (asyncio, keep-alive): requests start on a fixed schedule.

Latency is measured from each request's SCHEDULED start, so a slow server cannot hide its queueing by
slowing the client down (no coordinated omission). Cheap enough on the client to run beside the server.
"""
from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit


class _Conn:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    async def request(self, raw: bytes) -> int:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return status


def post_json(path: str, host: str, body: bytes, extra_headers: dict | None = None) -> bytes:
    headers = "".join(f"{k}: {v}\r\n" for k, v in (extra_headers or {}).items())
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{headers}\r\n").encode() + body


async def _open_loop(base_url: str, requests_iter, rate: float, seconds: float, max_conns: int) -> dict:
    parts = urlsplit(base_url)
    idle: list[_Conn] = []
    opened = 0
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    pending = set()
    lock = asyncio.Semaphore(max_conns)

    async def one(raw: bytes, scheduled: float):
        nonlocal opened, errors
        async with lock:
            conn = idle.pop() if idle else None
            reused = conn is not None
            while True:
                if conn is None:
                    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
                    conn = _Conn(reader, writer)
                    opened += 1
                try:
                    status = await asyncio.wait_for(conn.request(raw), timeout=30)
                    break
                except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError) as exc:
                    conn.writer.close()
                    conn = None
                    # The server closed an idle keep-alive connection (gunicorn's keepalive is 2 s) before
                    # reading the request: as any HTTP client does, send it again on a new connection, once.
                    if reused and not getattr(exc, "partial", b""):
                        reused = False
                        continue
                    errors += 1
                    return
                except Exception:
                    errors += 1
                    conn.writer.close()
                    return
            latencies.append(time.perf_counter() - scheduled)
            statuses[status] = statuses.get(status, 0) + 1
            idle.append(conn)

    start = time.perf_counter()
    total = int(rate * seconds)
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        raw = next(requests_iter)
        task = asyncio.create_task(one(raw, scheduled))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending, return_exceptions=True)
    elapsed = time.perf_counter() - start
    for conn in idle:
        conn.writer.close()
    return {"sent": total, "elapsed_s": elapsed, "achieved_rps": len(latencies) / elapsed, "latencies": latencies,
            "statuses": statuses, "errors": errors, "connections": opened}


def open_loop(base_url: str, requests_iter, rate: float, seconds: float, max_conns: int = 256) -> dict:
    return asyncio.run(_open_loop(base_url, iter(requests_iter), rate, seconds, max_conns))
