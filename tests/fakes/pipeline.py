"""Shared helpers for the onboarding/sync unit tests: YCLIENTS is runtime.yclients.stub.StubYclients, jobs are recorded by runtime.stub_jobs.StubJobs."""
from __future__ import annotations

from models import salon as S
from models.live import LiveStatus
from models.salon import Salon
from runtime.stub_jobs import StubJobs
from workers.onboarding.deps import Deps
from runtime.yclients.stub import StubYclients
from runtime.yclients.errors import PermanentError


def deps_for(settings, database, redis_client, api=None, message_id="msg-1"):
    return Deps(settings=settings, database=database, redis=redis_client, live=LiveStatus(redis_client),
                api=StubYclients() if api is None else api, jobs=StubJobs(), message_id=message_id)


def make_salon(salon_id=962302, state=S.WHATSAPP_CONNECTED, phone="79001234567", title="KULTURA"):
    return Salon.create(salon_id=salon_id, state=state, whatsapp_phone=phone, title=title, whatsapp_state="connected")


def forbidden_already_installed():
    return PermanentError("403", status=403, message="Пользователь уже установил это приложение")


def catalog_salon(data, api: StubYclients | None = None) -> StubYclients:
    """`api` (a fresh StubYclients by default) serving the sandbox generator's salon `data`, its records
    150 per page though the client asks for more (pagination must follow what came back)."""
    api = StubYclients() if api is None else api
    api.load_generated(data.spec.salon_id, data)
    api.page_sizes["records"] = 150
    return api
