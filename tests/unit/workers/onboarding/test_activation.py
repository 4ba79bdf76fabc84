"""Activation: idempotent, one call per salon, keys stored before the call, outcomes by YCLIENTS answer."""
import threading

import pytest

from models import salon as S
from models.salon import Salon
from models.timeline import TimelineEvent
from tests.fakes.pipeline import deps_for, forbidden_already_installed, make_salon
from workers.onboarding.activation import ActivationRejected, activate
from workers.onboarding.connected import on_whatsapp_connected
from workers.sync.lease import Lease
from runtime.yclients.errors import PermanentError, TransientError
from runtime.yclients.stub import StubYclients


AFTER = "https://yclients.com/appstore/962302/installed"  # where the stub's 301 sends the owner


def kinds(salon_id):
    return [e.kind for e in TimelineEvent.select().where(TimelineEvent.salon_id == salon_id).order_by(TimelineEvent.id)]


def test_301_is_success_with_its_location(settings, database, redis_client):
    make_salon()
    api = StubYclients()  # it answers 301 to https://yclients.com/appstore/962302/installed
    deps = deps_for(settings, database, redis_client, api)
    assert activate(962302, deps) == "activated"
    salon = Salon.get_by_id(962302)
    assert salon.state == S.ACTIVE and salon.activated_at and salon.activation_location == AFTER
    call = api.activations[0]
    assert len(call["api_key"]) >= 64 and int(call["api_key"], 16) >= 0
    assert call["api_key"] == salon.api_key
    assert call["webhook_urls"] == [f"{settings.public_base_url}/webhook/yclients/{salon.webhook_key}"]
    assert deps.jobs.calls() == [("send_welcome", 962302), ("sync_salon", 962302, "full")]
    snap = deps.live.snapshot(962302)["data"]
    assert snap["state"] == S.ACTIVE
    assert snap["activation"] == {"status": "done", "code": "activation_done",
                                  "location": AFTER}
    assert kinds(962302) == ["activation_started", "activated"]


def test_an_active_salon_is_skipped(settings, database, redis_client):
    make_salon(state=S.ACTIVE)
    api = StubYclients()
    deps = deps_for(settings, database, redis_client, api)
    assert activate(962302, deps) == "skipped"
    assert api.calls == [] and deps.jobs.calls() == []


def test_two_connected_events_make_one_activation_call(settings, database, redis_client):
    make_salon(state=S.PENDING_WHATSAPP)
    api = StubYclients()
    deps = deps_for(settings, database, redis_client, api)
    on_whatsapp_connected(962302, deps)
    on_whatsapp_connected(962302, deps)
    assert Salon.get_by_id(962302).state == S.WHATSAPP_CONNECTED
    assert deps.jobs.names() == ["activate_integration", "activate_integration"]
    for _ in list(deps.jobs.sent):
        activate(962302, deps)
    assert len(api.activations) == 1
    on_whatsapp_connected(962302, deps)  # after activation: nothing new
    assert deps.jobs.names().count("activate_integration") == 2


def test_a_duplicate_message_steps_aside_while_another_holds_the_salon(settings, database, redis_client):
    make_salon()
    Lease(redis_client, "activation:962302", owner="other-message").acquire()
    api = StubYclients()
    assert activate(962302, deps_for(settings, database, redis_client, api, message_id="mine")) == "busy"
    assert api.calls == []


def test_a_redelivered_message_takes_its_own_lease_back(settings, database, redis_client):
    make_salon(state=S.ACTIVATING)  # it crashed mid-call earlier
    Lease(redis_client, "activation:962302", owner="msg-1").acquire()
    api = StubYclients()
    assert activate(962302, deps_for(settings, database, redis_client, api, message_id="msg-1")) == "activated"


def test_concurrent_workers_call_yclients_once(settings, database, redis_client):
    make_salon()
    gate = threading.Event()

    class SlowApi(StubYclients):
        def activation_callback(self, *args):
            gate.wait(2)
            return super().activation_callback(*args)

    api = SlowApi()
    results = []

    def worker(message_id):
        database.connect(reuse_if_open=True)
        results.append(activate(962302, deps_for(settings, database, redis_client, api, message_id=message_id)))

    threads = [threading.Thread(target=worker, args=(f"m{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    import time

    time.sleep(0.3)
    gate.set()
    for t in threads:
        t.join(5)
    assert len(api.activations) == 1
    assert results.count("activated") == 1 and len(results) == 3


def test_a_transient_error_keeps_the_keys_for_the_retry(settings, database, redis_client):
    make_salon()
    api = StubYclients()
    api.errors.append(TransientError("500", status=500))  # then the modelled 301
    deps = deps_for(settings, database, redis_client, api)
    with pytest.raises(TransientError):
        activate(962302, deps)
    salon = Salon.get_by_id(962302)
    assert salon.state == S.ACTIVATING and salon.api_key == api.activations[0]["api_key"]
    assert redis_client.get("aiadmin:lease:activation:962302") is None  # released for the retry
    assert activate(962302, deps) == "activated"
    assert api.activations[1]["api_key"] == api.activations[0]["api_key"]
    assert api.activations[1]["webhook_urls"] == api.activations[0]["webhook_urls"]
    assert Salon.get_by_id(962302).activation_attempts == 2


def test_403_already_installed_resolves_to_active_when_yclients_says_active(settings, database, redis_client):
    make_salon()
    api = StubYclients()
    api.set_status("active", 962302)  # installed and active: YCLIENTS refuses a second activation with 403
    deps = deps_for(settings, database, redis_client, api)
    assert activate(962302, deps) == "activated"
    assert api.calls.count(("status", 962302)) == 1 and Salon.get_by_id(962302).state == S.ACTIVE


def test_403_already_installed_but_not_active_is_a_failure(settings, database, redis_client):
    make_salon()
    api = StubYclients()
    api.press_connect(962302)  # pending, not active
    api.errors.append(forbidden_already_installed())
    deps = deps_for(settings, database, redis_client, api)
    with pytest.raises(ActivationRejected):
        activate(962302, deps)
    assert Salon.get_by_id(962302).state == S.ACTIVATION_FAILED


@pytest.mark.parametrize("status", [401, 422])
def test_401_and_422_end_in_activation_failed_with_the_support_code(settings, database, redis_client, status):
    make_salon()
    api = StubYclients()
    api.errors.append(PermanentError(str(status), status=status, message="Validation failed"))
    deps = deps_for(settings, database, redis_client, api)
    with pytest.raises(ActivationRejected):
        activate(962302, deps)
    salon = Salon.get_by_id(962302)
    assert salon.state == S.ACTIVATION_FAILED and str(status) in salon.activation_error
    activation = deps.live.snapshot(962302)["data"]["activation"]
    # The page's words (with the support contact) come from the web tier's catalogue for this code.
    assert activation == {"status": "failed", "code": "activation_failed"}
    assert "activation_failed" in kinds(962302)
    assert deps.jobs.calls() == []


def test_an_activation_that_would_wait_for_budget_is_deferred_with_its_place_kept(settings, database, redis_client):
    from runtime.yclients.ratelimit import KEY_PREFIX
    from tests.fakes.budget import budgeted_pair, fill_log
    from workers.onboarding.activation import ActivationDeferred

    make_salon()
    stub = StubYclients()
    stub.press_connect(962302)
    _, interactive, admitted = budgeted_pair(stub, redis_client, "5/s,5/min")
    fill_log(redis_client, 5)  # other owners used the minute
    deps = deps_for(settings, database, redis_client, interactive)
    with pytest.raises(ActivationDeferred) as caught:
        activate(962302, deps)
    assert caught.value.delay_ms > 50_000  # come back when the minute has room: no thread sleeps meanwhile
    assert stub.activations == [] and admitted == []
    salon = Salon.get_by_id(962302)
    assert salon.state == S.ACTIVATING and salon.activation_attempts == 0  # waiting is not an attempt
    assert Lease(redis_client, "activation:962302", owner="someone-else").acquire()  # the lease was let go
    Lease(redis_client, "activation:962302", owner="someone-else").release()
    line = [m.decode() for m in redis_client.zrange(KEY_PREFIX + "yclients:demand", 0, -1)]
    assert line == ["activation:962302"]  # its place in the line of waiting owners is kept
    redis_client.delete(KEY_PREFIX + "yclients")  # the minute has passed
    assert activate(962302, deps) == "activated"
    assert len(stub.activations) == 1 and Salon.get_by_id(962302).activation_attempts == 1
    assert redis_client.zcard(KEY_PREFIX + "yclients:demand") == 0
