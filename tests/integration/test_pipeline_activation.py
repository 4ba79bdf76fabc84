"""Activation end to end: real worker processes, the YCLIENTS sandbox over HTTP, real Redis and database."""
import pytest

from models import salon as S
from models.failure import Failure
from models.outbound import OutboundMessage
from models.salon import Salon
from tests.integration.pipeline_stack import Stack
from tests.support import wait_for

pytestmark = pytest.mark.integration

SALON = 962302


def salon_state(database):
    database.connect(reuse_if_open=True)
    salon = Salon.get_or_none(Salon.salon_id == SALON)
    return salon and salon.state


def connected_salon():
    return Salon.create(salon_id=SALON, state=S.PENDING_WHATSAPP, whatsapp_phone="79001234567",
                        whatsapp_state=S.WA_CONNECTED, title="KULTURA Малаховка")


def outbound_queue_size(redis_client):
    return redis_client.hlen("dramatiq:outbound.msgs")


def test_two_connected_events_on_two_workers_make_one_activation_and_one_welcome(
        services, settings, database, redis_client):
    stack = Stack(services, settings)
    stack.faults(latency_ms=300)  # slow answers make the duplicates overlap the first call
    connected_salon()
    stack.worker("a")
    stack.worker("b")
    for _ in range(2):
        stack.jobs.send("on_whatsapp_connected", SALON)
    stack.jobs.send("activate_integration", SALON)
    wait_for(lambda: OutboundMessage.select().count() == 1 and outbound_queue_size(redis_client) >= 1,
             timeout=60, message=f"welcome queued\n{stack.logs()}")
    wait_for(lambda: salon_state(database) == S.ACTIVE, timeout=10)
    # Let the duplicates run out before counting.
    wait_for(lambda: redis_client.hlen("dramatiq:onboarding.msgs") == 0, timeout=30, message="onboarding drained")
    installs = stack.installs()
    assert len(installs["callbacks"]) == 1, installs["callbacks"]
    callback = installs["callbacks"][0]
    salon = Salon.get_by_id(SALON)
    assert callback["api_key"] == salon.api_key and len(salon.api_key) >= 64
    assert callback["webhook_urls"] == [f"{settings.public_base_url}/webhook/yclients/{salon.webhook_key}"]
    # 301 was success and was not followed: we kept its Location.
    assert salon.activation_location == f"{stack.sandbox_url}/_sandbox/installed?salon_id={SALON}"
    assert OutboundMessage.select().count() == 1
    assert outbound_queue_size(redis_client) == 1  # one send_whatsapp_text for the bridge
    assert OutboundMessage.get().chat_id == "79001234567@c.us"
    assert Failure.select().count() == 0


def _activate_with(stack, database, **faults):
    Salon.create(salon_id=SALON, state=S.WHATSAPP_CONNECTED, whatsapp_phone="79001234567",
                 whatsapp_state=S.WA_CONNECTED)
    stack.faults(**faults)
    stack.worker()
    stack.jobs.send("activate_integration", SALON)


def test_403_already_installed_resolves_to_active(services, settings, database):
    stack = Stack(services, settings)
    _activate_with(stack, database, activation=[403])
    wait_for(lambda: salon_state(database) == S.ACTIVE, timeout=60, message=f"active\n{stack.logs()}")
    assert Failure.select().count() == 0


def test_422_ends_in_activation_failed_with_a_failure_record(services, settings, database, redis_client):
    stack = Stack(services, settings)
    _activate_with(stack, database, activation=[422])
    wait_for(lambda: salon_state(database) == S.ACTIVATION_FAILED, timeout=60, message=f"failed\n{stack.logs()}")
    failure = wait_for(lambda: Failure.get_or_none(Failure.actor_name == "activate_integration"), timeout=20,
                       message="failure record")
    assert failure.permanent and failure.salon_id == SALON and failure.args == [SALON]
    assert "ActivationRejected" in failure.error_type
    assert len(stack.installs()["callbacks"]) == 1  # a permanent error is not retried
    from models.live import LiveStatus

    activation = LiveStatus(redis_client).snapshot(SALON)["data"]["activation"]
    assert activation["status"] == "failed" and activation["code"] == "activation_failed"  # words: web catalogue


def test_500_then_html_then_301_retries_into_success_with_the_same_key(services, settings, database):
    stack = Stack(services, settings)
    _activate_with(stack, database, activation=[500, "html", 301])
    wait_for(lambda: salon_state(database) == S.ACTIVE, timeout=90, message=f"active\n{stack.logs()}")
    callbacks = stack.installs()["callbacks"]
    assert len(callbacks) == 3
    assert len({c["api_key"] for c in callbacks}) == 1  # never rotated mid-retries
    assert Failure.select().count() == 0


def test_retries_exhausted_on_5xx_end_in_activation_failed_and_a_failure_record(services, settings, database,
                                                                                 redis_client):
    stack = Stack(services, settings)
    Salon.create(salon_id=SALON, state=S.WHATSAPP_CONNECTED, whatsapp_phone="79001234567",
                 whatsapp_state=S.WA_CONNECTED)
    stack.faults(activation_status=503)
    stack.worker()
    # Fewer retries than the actor's default, to keep the test short; the path is the same.
    stack.jobs.send_with_options("activate_integration", args=(SALON,), max_retries=1, min_backoff=100,
                                 max_backoff=200)
    failure = wait_for(lambda: Failure.get_or_none(Failure.actor_name == "activate_integration"), timeout=60,
                       message=f"failure record\n{stack.logs()}")
    assert not failure.permanent and failure.attempts == 2 and failure.args == [SALON]
    wait_for(lambda: salon_state(database) == S.ACTIVATION_FAILED, timeout=20, message="activation_exhausted")
    from models.live import LiveStatus

    assert LiveStatus(redis_client).snapshot(SALON)["data"]["activation"]["status"] == "failed"
    assert len(stack.installs()["callbacks"]) == 6  # 2 deliveries x 3 in-process attempts
