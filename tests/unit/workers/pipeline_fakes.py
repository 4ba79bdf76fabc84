"""Shared fakes for the onboarding/sync unit tests: a scripted YCLIENTS API and a recording enqueue."""
from __future__ import annotations

from models import salon as S
from models.live import LiveStatus
from models.salon import Salon
from workers.onboarding.deps import Deps
from workers.yclients.api import Page
from workers.yclients.client import Reply
from workers.yclients.errors import PermanentError


class Enqueued(list):
    def __call__(self, name, *args, **kwargs):
        self.append((name, *args))

    def names(self):
        return [item[0] for item in self]


class FakeApi:
    """Activation answers are scripted: a list of Reply objects or exceptions, consumed in order."""

    def __init__(self, *answers, installed_active=False, company_card=None):
        self.answers = list(answers)
        self.company_card = company_card or {}
        self.calls = []
        self.installed_active = installed_active
        self.status_checks = 0

    def activation_callback(self, salon_id, api_key, webhook_urls):
        self.calls.append({"salon_id": salon_id, "api_key": api_key, "webhook_urls": webhook_urls})
        answer = self.answers.pop(0) if self.answers else Reply(301, headers={"Location": "https://yc/ok"})
        if isinstance(answer, Exception):
            raise answer
        return answer

    def is_installed_and_active(self, salon_id):
        self.status_checks += 1
        return self.installed_active

    def company(self, salon_id):
        if isinstance(self.company_card, Exception):
            raise self.company_card
        return self.company_card


def deps_for(settings, database, redis_client, api=None, message_id="msg-1"):
    return Deps(settings=settings, database=database, redis=redis_client, live=LiveStatus(redis_client),
                api=api or FakeApi(), enqueue=Enqueued(), message_id=message_id)


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
