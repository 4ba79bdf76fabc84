"""What a registration costs the database: a new branch is written without being read first."""
from __future__ import annotations

import peewee

from models import salon as s
from models.salon import Salon
from models.timeline import TimelineEvent
from web.marketplace import registration
from web.marketplace.validation import Installer

WHO = Installer(user_id=7, name="Иван", phone="79000000000", email="", salon_name="Салон")


def statements(database, monkeypatch):
    seen = []
    execute_sql = database.execute_sql

    def logged(sql, params=None, *args, **kwargs):
        seen.append(sql.split()[0].upper())
        return execute_sql(sql, params, *args, **kwargs)

    monkeypatch.setattr(database, "execute_sql", logged)
    return seen


def test_a_new_branch_is_one_insert_and_its_timeline_row_with_no_read(database, monkeypatch):
    seen = statements(database, monkeypatch)
    [result] = registration.register(database, [{"salon_id": 5, "status": "pending", "title": "Салон"}], WHO)
    assert seen == ["INSERT", "INSERT"]
    assert result.previous_state is None and result.restarted and result.state == s.PENDING_WHATSAPP
    salon = Salon.get_by_id(5)
    assert (salon.title, salon.installer_id, salon.state) == ("Салон", 7, s.PENDING_WHATSAPP)
    assert [e.kind for e in TimelineEvent.select()] == ["registration_started"]


def test_an_existing_branch_is_still_read_and_left_as_it_is_by_the_insert(database, monkeypatch):
    Salon.create(salon_id=5, title="Старое", state=s.ACTIVE, installer_id=7)
    [result] = registration.register(database, [{"salon_id": 5, "status": "active", "title": "Новое"}], WHO)
    assert result.previous_state == s.ACTIVE and not result.restarted
    salon = Salon.get_by_id(5)
    assert (salon.title, salon.state) == ("Старое", s.ACTIVE)  # a revisit changes nothing
    assert [e.kind for e in TimelineEvent.select()] == ["registration_revisited"]


def test_a_new_branchs_two_inserts_are_prepared_once_and_not_rebuilt_by_peewee_on_each_press(database, monkeypatch):
    registration.register(database, [{"salon_id": 5, "status": "pending", "title": "Салон"}], WHO)  # prepared here

    def rebuilt(*args, **kwargs):
        raise AssertionError("peewee built the INSERT again")

    monkeypatch.setattr(peewee.Insert, "_generate_insert", rebuilt)
    [result] = registration.register(database, [{"salon_id": 6, "status": "pending", "title": "Второй"}], WHO)
    assert result.restarted and result.state == s.PENDING_WHATSAPP
    monkeypatch.undo()
    salon = Salon.get_by_id(6)
    assert (salon.title, salon.installer_id, salon.installer_name, salon.state, salon.session_generation) == \
        ("Второй", 7, "Иван", s.PENDING_WHATSAPP, 0)
    assert salon.created_at is not None and salon.registered_at is not None
    event = TimelineEvent.get(TimelineEvent.salon_id == 6)
    assert (event.kind, event.actor) == ("registration_started", "owner") and event.created_at is not None
    assert event.data == {"installer_id": 7, "install_group": None, "branches": 1, "yclients_status": "pending",
                          "previous_state": None, "state": s.PENDING_WHATSAPP}
    # The insert still does nothing to an existing branch (no error, no second row).
    assert registration.register(database, [{"salon_id": 6, "status": "pending", "title": "Иное"}], WHO)
    assert Salon.get_by_id(6).title == "Второй" and Salon.select().count() == 2
