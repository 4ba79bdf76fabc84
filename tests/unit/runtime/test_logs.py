"""Logs of a real worker flow carry salon and message ids and never a secret or a full phone number."""
import io
import json
import logging
import secrets
import time

import dramatiq
import jwt
import pytest

from runtime.broker import build_broker
from runtime.logs import configure_logging, mask_phone, redact

PHONE = "79001234567"


@pytest.fixture
def captured(settings):
    stream = io.StringIO()
    handler = configure_logging(settings.replace(log_json=True), process="worker", stream=stream)
    yield stream
    logging.getLogger().removeHandler(handler)


def test_a_failing_job_logs_json_with_ids_and_no_secrets(database, settings, captured, redis_client):
    api_key = secrets.token_hex(16)
    token = jwt.encode({"salon_id": 962302, "exp": time.time() + 60}, settings.jwt_secret, algorithm="HS256")
    leaks = [settings.yclients_partner_token, api_key, token, settings.waha_webhook_secret, settings.jwt_secret,
             settings.waha_api_key, PHONE]
    log = logging.getLogger("aiadmin.test")
    broker = build_broker(settings, database)

    def leaky_activation(salon_id: int, phone: str) -> None:
        # What careless code writes: headers, bodies, bare values, and an exception quoting them.
        log.info("POST /marketplace/partner/callback/redirect Authorization: Bearer %s body api_key=%s",
                 settings.yclients_partner_token, api_key)
        log.info("onboarding token %s for %s", token, phone)
        log.info("session config hmac %s key %s", settings.waha_webhook_secret, settings.waha_api_key)
        raise RuntimeError(f"callback failed for {phone} with partner token {settings.yclients_partner_token} "
                           f"and key {api_key}")

    dramatiq.Actor(leaky_activation, broker=broker, actor_name="leaky_activation", queue_name="logtest",
                   priority=0, options={"max_retries": 0})
    message = broker.get_actor("leaky_activation").send(962302, PHONE)
    worker = dramatiq.Worker(broker, worker_timeout=100, worker_threads=1)
    worker.start()
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and "job failed for good" not in captured.getvalue():
            time.sleep(0.05)
    finally:
        worker.stop()
    output = captured.getvalue()
    assert "job failed for good" in output, output
    for leak in leaks:
        assert leak not in output, f"leaked {leak[:6]}…"
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    ours = [line for line in lines if line["logger"] == "aiadmin.test"]
    assert len(ours) == 3
    assert all(line["salon_id"] == 962302 and line["message_id"] == message.message_id for line in ours)
    assert all(line["process"] == "worker" and line["level"] == "info" for line in ours)
    assert mask_phone(PHONE) in output  # the masked form is what support sees
    failed = [line for line in lines if "exc" in line]
    assert failed and "RuntimeError" in failed[0]["exc"]


def test_redact_hides_common_secret_shapes():
    text = redact("Authorization: Bearer abcdef123456789, User u-1234567890 password=hunter22 +79161234567")
    assert "abcdef123456789" not in text and "u-1234567890" not in text and "hunter22" not in text
    assert "79161234567" not in text and "+7916***67" in text
