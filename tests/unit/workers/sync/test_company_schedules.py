"""Issue 15 in the sync: the company card (title, timezone), salon-local times, schedules, deletions, access."""
import datetime as dt

import pytest

from models import salon as S
from models.company import Company
from models.outbound import OutboundMessage
from models.salon import Salon
from models.schedule import StaffSchedule
from models.synced import Record, Staff
from models.sync_run import FAILED, SyncRun
from sandbox.yclients.data import URAL, Catalog
from tests.fakes.pipeline import catalog_salon, deps_for, make_salon
from workers.onboarding.welcome import send_welcome
from workers.sync.company import stale_companies, store_company
from workers.sync.salon_sync import SyncAccessDenied, sync_salon
from workers.sync.mapping import parse_time, upsert, zone
from workers.sync.schedules import sync_schedules
from runtime.yclients.errors import AccessDenied
from runtime.yclients.stub import StubYclients


class NaiveApi(StubYclients):
    """Record times without an offset (salon-local wall time), as the real API gives them in places."""

    def records_page(self, *args, **kwargs):
        page = super().records_page(*args, **kwargs)
        for item in page.items:
            item["datetime"] = item["datetime"][:19].replace("T", " ")
        return page


class Forbidden(StubYclients):
    def clients_page(self, salon_id, page):
        raise AccessDenied("403", status=403, message="Нет прав на управление компанией")


def test_offset_less_times_are_read_in_the_salon_timezone():
    assert parse_time("2026-03-10 10:00:00", zone("Asia/Yekaterinburg")) == dt.datetime(2026, 3, 10, 5, 0)
    assert parse_time("2026-03-10T10:00:00+05:00") == dt.datetime(2026, 3, 10, 5, 0)
    assert parse_time("2026-03-10 10:00:00") == dt.datetime(2026, 3, 10, 10, 0)  # no zone known: UTC
    assert zone("Mars/Olympus") is dt.timezone.utc


@pytest.mark.parametrize("api_class", [StubYclients, NaiveApi])
def test_a_yekaterinburg_salon_stores_records_at_the_right_utc_instant(settings, database, redis_client, api_class):
    data = Catalog().get(URAL)
    make_salon(salon_id=URAL, state=S.ACTIVE, title=f"Салон {URAL}")
    assert sync_salon(URAL, "full", deps_for(settings, database, redis_client, catalog_salon(data, api_class()))) == "done"
    company = Company.get_by_id(URAL)
    assert company.timezone == "Asia/Yekaterinburg" and company.city == "Екатеринбург" and company.phone
    assert Salon.get_by_id(URAL).title == "Студия «Урал»"
    window = SyncRun.get().checkpoints["records"]  # the salon's own dates: from 19:00 UTC a day after Moscow's
    first = data.record(data.record_range(*(dt.date.fromisoformat(window[k]) for k in ("start_date", "end_date")))[0])
    local = dt.datetime.fromisoformat(first["datetime"][:19])
    stored = Record.get(Record.yclients_id == first["id"])
    assert stored.datetime == local - dt.timedelta(hours=5)


def test_the_welcome_names_the_salon_from_yclients_not_the_placeholder(settings, database, redis_client):
    make_salon(state=S.ACTIVE, title="Салон 962302")
    api = StubYclients()
    api.load(962302, company={"title": "KULTURA Малаховка", "timezone_name": "Europe/Moscow"})
    deps = deps_for(settings, database, redis_client, api)
    row = OutboundMessage.get_by_id(send_welcome(962302, deps))
    assert "«KULTURA Малаховка»" in row.text and "Салон 962302" not in row.text
    assert Salon.get_by_id(962302).title == "KULTURA Малаховка" and Company.get_by_id(962302)


def test_a_refused_company_card_leaves_the_welcome_with_the_stored_title(settings, database, redis_client):
    make_salon(state=S.ACTIVE, title="Салон Пример")
    forbidden = AccessDenied("403", status=403, message="Нет прав на управление компанией")
    api = StubYclients()
    api.load(962302, company={"title": "KULTURA Малаховка"})
    api.errors.append(forbidden)
    deps = deps_for(settings, database, redis_client, api)
    assert "«Салон Пример»" in OutboundMessage.get_by_id(send_welcome(962302, deps)).text


def test_company_cards_a_week_old_are_due_for_refresh(settings, database, redis_client):
    make_salon(salon_id=1, state=S.ACTIVE)
    make_salon(salon_id=2, state=S.ACTIVE)
    make_salon(salon_id=3, state=S.ACTIVE)
    make_salon(salon_id=4, state=S.FROZEN)
    store_company(1, {"title": "A"}, database)
    store_company(2, {"title": "B"}, database)
    Company.update(synced_at=dt.datetime.utcnow() - dt.timedelta(days=8)).where(Company.salon_id == 2).execute()
    assert stale_companies() == [2, 3]


def test_an_access_refusal_fails_the_sync_with_a_named_reason(settings, database, redis_client):
    make_salon(state=S.ACTIVE)
    deps = deps_for(settings, database, redis_client, catalog_salon(Catalog().get(962302), Forbidden()))
    with pytest.raises(SyncAccessDenied) as caught:
        sync_salon(962302, "full", deps)
    assert str(caught.value) == "YCLIENTS не дал доступ к клиентам: 403 Нет прав на управление компанией"
    run = SyncRun.get()
    assert run.status == FAILED and run.error.startswith("YCLIENTS не дал доступ к клиентам")


def test_a_full_sync_never_revives_a_record_deleted_after_its_page_was_fetched(settings, database, redis_client):
    data = Catalog().get(962302)
    item = data.record(5)
    fetched = dt.datetime.utcnow()
    with database.atomic():
        upsert("records", 962302, [item], now=fetched - dt.timedelta(minutes=10))
    # The delete webhook, applied after the next page was read (its change time is later than the fetch).
    Record.update(deleted=True, changed_at=fetched + dt.timedelta(seconds=5)).execute()
    with database.atomic():
        upsert("records", 962302, [item], now=fetched)
    assert Record.get().deleted is True
    # A real later change in YCLIENTS (newer than the deletion) does win.
    restored = {**item, "last_change_date": (fetched + dt.timedelta(minutes=1)).isoformat() + "+00:00"}
    with database.atomic():
        upsert("records", 962302, [restored], now=fetched + dt.timedelta(minutes=2))
    assert Record.get().deleted is False


class Incremental(StubYclients):
    def __init__(self, data, deleted_id):
        super().__init__()
        self.data_source = data
        self.deleted_id = deleted_id
        self.asked = []

    def records_page(self, salon_id, page, start_date, end_date, changed_after=None):
        from runtime.yclients.api import Page

        self.asked.append(changed_after)
        if changed_after is None:
            return super().records_page(salon_id, page, start_date, end_date)
        item = {**self.data_source.record(self.deleted_id - 962302 * 10_000_000 - 1), "deleted": True,
                "last_change_date": dt.datetime.now(dt.timezone.utc).isoformat()}
        return Page(page, [item] if page == 1 else [], 1)


def test_an_incremental_sync_marks_records_deleted_when_yclients_says_so(settings, database, redis_client):
    data = Catalog().get(962302)
    make_salon(state=S.ACTIVE)
    victim = data.record(10)["id"]
    api = catalog_salon(data, Incremental(data, victim))
    deps = deps_for(settings, database, redis_client, api)
    assert sync_salon(962302, "full", deps) == "done"
    assert Record.get(Record.yclients_id == victim).deleted is False
    assert sync_salon(962302, "incremental", deps) == "done"
    assert api.asked[-1] is not None
    assert Record.get(Record.yclients_id == victim).deleted is True


def test_schedules_store_working_intervals_for_30_local_days_and_replace_them(settings, database, redis_client):
    data = Catalog().get(URAL)
    make_salon(salon_id=URAL, state=S.ACTIVE)
    deps = deps_for(settings, database, redis_client, catalog_salon(data))
    store_company(URAL, data.company(), database)
    with database.atomic():
        upsert("staff", URAL, data.staff())
    today = dt.date(2026, 3, 1)
    assert sync_schedules(URAL, deps, today=today) == 3 * 30
    rows = list(StaffSchedule.select().where(StaffSchedule.staff_id == data.staff()[0]["id"])
                .order_by(StaffSchedule.date))
    assert [r.date for r in rows] == [today + dt.timedelta(days=i) for i in range(30)]
    working = [r for r in rows if r.working]
    assert working and len(working) < 30
    day = working[0]
    assert day.intervals == [["10:00", "14:00"], ["15:00", "20:00"]]
    assert day.starts_at == dt.datetime.combine(day.date, dt.time(5, 0))  # 10:00 in Yekaterinburg
    assert day.ends_at == dt.datetime.combine(day.date, dt.time(15, 0))
    # A staff member fired in YCLIENTS drops out at the next refresh; past days drop out too.
    Staff.update(fired=True).where(Staff.yclients_id == data.staff()[0]["id"]).execute()
    assert sync_schedules(URAL, deps, today=today + dt.timedelta(days=1)) == 2 * 30
    assert not StaffSchedule.select().where(StaffSchedule.staff_id == data.staff()[0]["id"]).exists()
    assert not StaffSchedule.select().where(StaffSchedule.date < today + dt.timedelta(days=1)).exists()


def test_schedules_are_not_synced_for_a_salon_that_is_not_active(settings, database, redis_client):
    make_salon(salon_id=URAL, state=S.FROZEN)
    assert sync_schedules(URAL, deps_for(settings, database, redis_client, catalog_salon(Catalog().get(URAL)))) is None


def test_a_refused_schedule_read_is_named_for_support(settings, database, redis_client):
    class NoSchedules(StubYclients):
        def staff_schedule(self, *args):
            raise AccessDenied("403", status=403, message="Не указан идентификатор партнера")

    data = Catalog().get(URAL)
    make_salon(salon_id=URAL, state=S.ACTIVE)
    with database.atomic():
        upsert("staff", URAL, data.staff())
    with pytest.raises(SyncAccessDenied, match="YCLIENTS не дал доступ к графикам сотрудников: 403 Не указан"):
        sync_schedules(URAL, deps_for(settings, database, redis_client, catalog_salon(data, NoSchedules())))


def test_schedules_waiting_for_budget_resume_after_the_last_staff_member_stored(settings, database, redis_client):
    from runtime.yclients.ratelimit import BudgetWait
    from workers.sync.budget_wait import WaitingForBudget

    data = Catalog().get(URAL)
    make_salon(salon_id=URAL, state=S.ACTIVE)
    store_company(URAL, data.company(), database)
    with database.atomic():
        upsert("staff", URAL, data.staff())
    api = catalog_salon(data)
    calls = []
    real = api.staff_schedule

    def staff_schedule(salon_id, staff_id, start, end):
        calls.append(staff_id)
        if len(calls) == 2:
            raise BudgetWait(30.0)  # the second member's read would wait half a minute
        return real(salon_id, staff_id, start, end)

    api.staff_schedule = staff_schedule
    deps = deps_for(settings, database, redis_client, api)
    first, second, third = sorted(s["id"] for s in data.staff())
    with pytest.raises(WaitingForBudget) as caught:
        sync_schedules(URAL, deps, today=dt.date(2026, 3, 1))
    assert caught.value.resume == {"after_staff": first} and caught.value.delay_ms >= 30_000
    assert sync_schedules(URAL, deps, today=dt.date(2026, 3, 1), after_staff=first) == 2 * 30
    assert calls == [first, second, second, third]  # the first member is not read again
    assert StaffSchedule.select().count() == 3 * 30
