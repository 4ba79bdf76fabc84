"""The simulator's webhook delivery: signed like WAHA (hex HMAC-SHA512 of the raw body), in order, with retries."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time

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
    """One thread delivers envelopes in the order they were emitted (STARTING before SCAN_QR_CODE...)."""

    def __init__(self, timeout: float = 5.0, sleep=time.sleep):
        self.timeout = timeout
        self.sleep = sleep
        self.queue: queue.Queue = queue.Queue()
        self.delivered: list[tuple[str, int]] = []  # (event id, HTTP status) for inspection
        self._thread = threading.Thread(target=self._run, name="webhook-sender", daemon=True)
        self._thread.start()

    def __call__(self, hooks: list[dict], envelope: dict) -> None:
        for hook in hooks:
            if hook.get("url") and wants(hook, envelope["event"]):
                self.queue.put((hook, envelope))

    def _run(self) -> None:
        while True:
            hook, envelope = self.queue.get()
            try:
                self._deliver(hook, envelope)
            finally:
                self.queue.task_done()

    def _deliver(self, hook: dict, envelope: dict) -> None:
        body, headers = signed_request(hook, envelope)
        retries = hook.get("retries") or {}
        attempts = max(1, int(retries.get("attempts", 3)))
        delay = min(float(retries.get("delaySeconds", 2)), MAX_RETRY_DELAY)
        for attempt in range(1, attempts + 1):
            try:
                response = requests.post(hook["url"], data=body, headers=headers, timeout=self.timeout)
                self.delivered.append((envelope["id"], response.status_code))
                if response.status_code < 300:
                    return
            except requests.RequestException as exc:
                logger.info("webhook %s attempt %d failed: %s", envelope["event"], attempt, type(exc).__name__)
            if attempt < attempts:
                self.sleep(delay * (attempt if retries.get("policy") == "linear" else 1))
        logger.warning("webhook %s %s undelivered after %d attempts", envelope["event"], envelope["id"], attempts)
