"""Partner-side disconnect (workers/lifecycle/disconnect.py) and the periodic fan-outs issue 15 added."""
import datetime

import pytest

from models import salon as s
from models.company import Company
from models.live import LiveStatus
from models.salon import Salon
from models.timeline import TimelineEvent
from runtime.gateway.stub import StubGateway
from runtime.stub_jobs import StubJobs
from runtime.yclients.errors import AccessDenied, PermanentError
from runtime.yclients.stub import StubYclients
from workers import registry
from workers.lifecycle.disconnect import disconnect
from workers.lifecycle.periodic import enqueue_company_refreshes, enqueue_schedule_syncs

SALON = 962302


def installed_in_yclients(error=None):
    """YCLIENTS with our application active in the salon (the shipped stub); `error` fails the next call."""
    api = StubYclients()
    api.press_connect(SALON)
    api.activation_callback(SALON, "a" * 32, ["https://adminai.example/webhook/yclients/k"])
    api.calls.clear()
    if error is not None:
        api.errors.append(error)
    return api


@pytest.fixture
def salon(database):
    return Salon.create(salon_id=SALON, state=s.ACTIVE, api_key="a" * 32, whatsapp_state=s.WA_CONNECTED)


def kinds():
    return [e.kind for e in TimelineEvent.select().where(TimelineEvent.salon_id == SALON).order_by(TimelineEvent.id)]


def test_disconnect_uninstalls_in_yclients_first_then_locally_and_twice_is_harmless(database, redis_client, salon):
    api, waha = installed_in_yclients(), StubGateway()
    waha.link(SALON)
    removed, effect = disconnect(database, SALON, api=api, waha=waha, live=LiveStatus(redis_client))
    assert removed is True and effect.outcome == "applied"
    row = Salon.get_by_id(SALON)
    assert row.state == s.UNINSTALLED and row.api_key is None and waha.count("delete") == 1
    removed, effect = disconnect(database, SALON, api=api, waha=waha, live=LiveStatus(redis_client))
    assert removed is False and effect.outcome == "noop" and api.calls == [("uninstall", SALON)] * 2
    assert kinds() == ["yclients_uninstalled", "uninstalled", "yclients_already_uninstalled"]


def test_a_yclients_refusal_changes_nothing_here(database, redis_client, salon):
    api, waha = installed_in_yclients(AccessDenied("401", status=401, message="Необходима авторизация")), StubGateway()
    with pytest.raises(PermanentError):
        disconnect(database, SALON, api=api, waha=waha)
    assert Salon.get_by_id(SALON).state == s.ACTIVE and waha.calls == [] and kinds() == []


def test_the_disconnect_actor_treats_a_yclients_refusal_as_permanent():
    spec = registry.specs()["disconnect_salon"]
    assert spec.queue_name == "lifecycle" and PermanentError in spec.options["throws"]


def test_hourly_schedules_and_weekly_company_cards_are_fanned_out_to_active_salons(database):
    for salon_id, state in ((1, s.ACTIVE), (2, s.ACTIVE), (3, s.FROZEN), (4, s.UNINSTALLED)):
        Salon.create(salon_id=salon_id, state=state)
    Company.create(salon_id=1, title="A")
    Company.create(salon_id=2, title="B", synced_at=datetime.datetime.utcnow() - datetime.timedelta(days=7, hours=1))
    jobs = StubJobs()
    assert enqueue_schedule_syncs(jobs) == 2
    assert enqueue_company_refreshes(jobs) == 1
    assert jobs.calls() == [("sync_schedules", 1), ("sync_schedules", 2), ("refresh_company", 2)]
