"""Reconciliation polls the gateway's session list and repairs drift in both directions."""
from bridge.reconcile import reconcile
from models import salon as S
from models.salon import Salon
from tests.fakes.gateway_sim import reload


def test_a_working_session_we_missed_takes_the_connected_path(deps, sim, salon, live, jobs):
    Salon.update(whatsapp_state=S.WA_AWAITING_LINK).execute()
    sim.core.create("salon_42", {})
    sim.core.scan("salon_42", "79001234567")  # the WORKING webhook was lost
    assert reconcile(deps)["connected"] == 1
    assert reload().whatsapp_state == S.WA_CONNECTED
    assert live.snapshot(42)["data"]["whatsapp"] == {"phone": "79001234567"}
    assert jobs.named("on_whatsapp_connected") == [((42,), None)]
    assert reconcile(deps)["connected"] == 0  # nothing left to repair
    assert len(jobs.named("on_whatsapp_connected")) == 1


def test_a_session_we_think_connected_that_failed_is_marked_logged_out(deps, sim, salon, live):
    sim.core.create("salon_42", {})
    sim.core.scan("salon_42", "79001234567")
    Salon.update(whatsapp_state=S.WA_CONNECTED, whatsapp_phone="79001234567").execute()
    sim.core.remote_logout("salon_42")
    assert reconcile(deps)["logged_out"] == 1
    assert reload().whatsapp_state == S.WA_LOGGED_OUT
    assert live.snapshot(42)["data"]["error"]["code"] == "logged_out"


def test_stopped_or_missing_sessions_we_think_connected_are_marked_stopped(deps, sim, database, live):
    Salon.create(salon_id=42, whatsapp_state=S.WA_CONNECTED)
    Salon.create(salon_id=43, whatsapp_state=S.WA_CONNECTED)
    sim.core.create("salon_42", {})
    sim.core.scan("salon_42", "79001234567")
    sim.core.stop("salon_42")
    assert reconcile(deps)["stopped"] == 2  # 42 stopped, 43 unknown to the gateway
    assert reload(42).whatsapp_state == S.WA_STOPPED and reload(43).whatsapp_state == S.WA_STOPPED
    assert live.snapshot(43)["data"]["error"]["code"] == "session_stopped"


def test_an_expired_window_whose_webhook_was_lost_offers_a_restart(deps, sim, salon, live, clock):
    Salon.update(whatsapp_state=S.WA_AWAITING_LINK).execute()
    sim.core.create("salon_42", {})
    clock.advance(161)
    assert reconcile(deps)["link_expired"] == 1
    assert live.snapshot(42)["data"]["error"]["code"] == "link_expired"
