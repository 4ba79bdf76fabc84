"""Shared helpers for the onboarding/sync unit tests: YCLIENTS is runtime.yclients.stub.StubYclients, jobs are recorded by runtime.stub_jobs.StubJobs."""
from __future__ import annotations

from models import salon as S
from models.live import LiveStatus
from models.salon import Salon
from runtime.stub_jobs import StubJobs
from workers.onboarding.deps import Deps
from runtime.yclients.api import Page
from runtime.yclients.stub import StubYclients
from runtime.yclients.errors import PermanentError


def deps_for(settings, database, redis_client, api=None, message_id="msg-1"):
    return Deps(settings=settings, database=database, redis=redis_client, live=LiveStatus(redis_client),
                api=StubYclients() if api is None else api, jobs=StubJobs(), message_id=message_id)


def make_salon(salon_id=962302, state=S.WHATSAPP_CONNECTED, phone="79001234567", title="KULTURA"):
    return Salon.create(salon_id=salon_id, state=state, whatsapp_phone=phone, title=title, whatsapp_state="connected")


def forbidden_already_installed():
    return PermanentError("403", status=403, message="Пользователь уже установил это приложение")


class DataApi:
    """Salon data from the sandbox generator, with optional crash injection after N page calls."""

    def __init__(self, catalog_salon, crash_after=None):
        self.data = catalog_salon
        self.page_calls = 0
        self.crash_after = crash_after

    def _tick(self):
        self.page_calls += 1
        if self.crash_after is not None and self.page_calls > self.crash_after:
            raise KeyboardInterrupt("worker killed")

    def company(self, salon_id):
        return self.data.company()

    def staff_schedule(self, salon_id, staff_id, start_date, end_date):
        import datetime as dt

        return self.data.schedule(staff_id, dt.date.fromisoformat(start_date), dt.date.fromisoformat(end_date))

    def service_categories(self, salon_id):
        return self.data.service_categories()

    def services(self, salon_id):
        return self.data.services()

    def staff(self, salon_id):
        return self.data.staff()

    def clients_page(self, salon_id, page):
        self._tick()
        size = 200
        total = self.data.spec.clients
        items = [self.data.client(i) for i in range((page - 1) * size, min(page * size, total))]
        return Page(page, items, total)

    def records_page(self, salon_id, page, start_date, end_date, changed_after=None):
        import datetime as dt

        self._tick()
        size = 150  # smaller than we ask for: pagination must follow what came back
        selected = self.data.record_range(dt.date.fromisoformat(start_date), dt.date.fromisoformat(end_date))
        chunk = selected[(page - 1) * size: page * size]
        return Page(page, [self.data.record(i) for i in chunk], len(selected))
