"""The simulator's webhook delivery: signed like WAHA (hex HMAC-SHA512 of the raw body), in order, with retries."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
import zlib

import requests

logger = logging.getLogger("whatsapp-sim")

MAX_RETRY_DELAY = 2.0  # keep local runs snappy even if a session asks for longer waits


def signed_request(hook: dict, envelope: dict) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "X-Webhook-Request-Id": envelope["id"],
               "X-Webhook-Timestamp": str(envelope["timestamp"])}
    key = ((hook.get("hmac") or {}).get("key")) or ""
    if key:
        headers["X-Webhook-Hmac"] = hmac.new(key.encode(), body, hashlib.sha512).hexdigest()
        headers["X-Webhook-Hmac-Algorithm"] = "sha512"
    return body, headers


def wants(hook: dict, event: str) -> bool:
    events = hook.get("events") or []
    return "*" in events or event in events


class WebhookSender:
    """Delivers envelopes in the order they were emitted PER SESSION (STARTING before SCAN_QR_CODE...), sessions in
    parallel lanes (a session always uses the same lane), each lane keeping its connection alive, as the real
    gateway does not hold one session's events behind another's. With one lane for all sessions, 200 sessions
    starting at once queued a salon's WORKING event ~100 s behind the others' QR events (benchmark 2)."""

    def __init__(self, timeout: float = 5.0, sleep=time.sleep, lanes: int = 8):
        self.timeout = timeout
        self.sleep = sleep
        self.queues: list[queue.Queue] = [queue.Queue() for _ in range(max(1, lanes))]
        self.delivered: list[tuple[str, int]] = []  # (event id, HTTP status) for inspection
        for lane, q in enumerate(self.queues):
            threading.Thread(target=self._run, args=(q,), name=f"webhook-sender-{lane}", daemon=True).start()

    def __call__(self, hooks: list[dict], envelope: dict) -> None:
        lane = self.queues[zlib.crc32(str(envelope.get("session", "")).encode()) % len(self.queues)]
        for hook in hooks:
            if hook.get("url") and wants(hook, envelope["event"]):
                lane.put((hook, envelope))

    def idle(self) -> bool:
        """Nothing queued or being delivered."""
        return all(q.unfinished_tasks == 0 for q in self.queues)

    def _run(self, lane: queue.Queue) -> None:
        http = requests.Session()
        while True:
            hook, envelope = lane.get()
            try:
                self._deliver(hook, envelope, http)
            finally:
                lane.task_done()

    def _deliver(self, hook: dict, envelope: dict, http=requests) -> None:
        body, headers = signed_request(hook, envelope)
        retries = hook.get("retries") or {}
        attempts = max(1, int(retries.get("attempts", 3)))
        delay = min(float(retries.get("delaySeconds", 2)), MAX_RETRY_DELAY)
        for attempt in range(1, attempts + 1):
            try:
                response = http.post(hook["url"], data=body, headers=headers, timeout=self.timeout)
                self.delivered.append((envelope["id"], response.status_code))
                if response.status_code < 300:
                    return
            except requests.RequestException as exc:
                logger.info("webhook %s attempt %d failed: %s", envelope["event"], attempt, type(exc).__name__)
            if attempt < attempts:
                self.sleep(delay * (attempt if retries.get("policy") == "linear" else 1))
        logger.warning("webhook %s %s undelivered after %d attempts", envelope["event"], envelope["id"], attempts)
