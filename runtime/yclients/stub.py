"""An in-memory YCLIENTS with the marketplace's install semantics, for unit tests (like `dramatiq.brokers.stub`).

What it keeps from YCLIENTS (reference yclients-marketplace.md; the contract suite in tests/contract/
runs it against the sandbox): «Подключить» (`press_connect`) makes a branch `pending` (an active one
stays active); the activation callback answers 301 and makes it `active`, and a second one is refused
with 403 «уже установил»; the application status of a branch never installed is 404 (`not_installed`);
a partner uninstall of an installed or installing branch succeeds once, then 404; data lists are paged
by the sizes the real client asks for, with `total_count`. `errors` are raised, in order, by the next calls.

Test controls: `press_connect`, `load` (a salon's data), `load_generated` (a generated salon such as
the sandbox catalog's, read lazily) and `set_status` (a branch's application status as YCLIENTS reports it,
e.g. "frozen") set the scene; `calls` logs every call as (what, salon_id) and `activations` the arguments
of every activation callback, as sent (also those answered with an error). `page_sizes` ({"records": 150})
gives fewer items per page than the client asks for, as YCLIENTS sometimes does (`Page.size` stays the
size asked for, `total_count` stays true: pagination must follow what came back). `crash_after_pages`: the
page call after that many (`page_calls`) raises KeyboardInterrupt, as a worker killed mid-sync.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from runtime.yclients.api import ALREADY_INSTALLED, CLIENTS_PAGE_SIZE, RECORDS_PAGE_SIZE, Page
from runtime.yclients.client import Reply
from runtime.yclients.errors import PermanentError


class StubYclients:
    def __init__(self):
        self.installs: dict[int, dict[str, Any]] = {}  # salon -> {"status", "api_key", "webhook_urls"}
        self.data: dict[int, dict[str, Any]] = {}  # salon -> {"company", "service_categories", …, "records"}
        self.calls: list[tuple[str, int]] = []
        self.errors: list[Exception] = []
        self.activations: list[dict[str, Any]] = []  # {"salon_id", "api_key", "webhook_urls"} per callback
        self.page_sizes: dict[str, int] = {}  # "clients"/"records" -> items per page YCLIENTS gives at most
        self.crash_after_pages: int | None = None

    # -- test controls -------------------------------------------------------------------------------
    def press_connect(self, *salon_ids: int) -> None:
        """The owner pressed «Подключить» in the marketplace for these branches."""
        for salon_id in salon_ids:
            entry = self.installs.setdefault(int(salon_id), {"status": "uninstalled"})
            if entry["status"] != "active":
                entry["status"] = "pending"

    def set_status(self, status: str, *salon_ids: int) -> None:
        """YCLIENTS reports `status` as these branches' application status from now on."""
        for salon_id in salon_ids:
            self.installs.setdefault(int(salon_id), {})["status"] = status

    def load(self, salon_id: int, **data: Any) -> None:
        """Seed a salon's data: company={…}, services=[…], staff=[…], clients=[…], records=[…], schedules={}."""
        self.data.setdefault(int(salon_id), {}).update(data)

    def load_generated(self, salon_id: int, source: Any) -> None:
        """Serve a generated salon's data, read lazily: `source` has the reading methods of
        sandbox.yclients.data.SalonData (company(), service_categories(), services(), staff(), client(i),
        record(i), record_range(start, end), schedule(staff_id, start, end) and spec.clients)."""
        self.data[int(salon_id)] = {"source": source}

    @property
    def page_calls(self) -> int:
        return sum(1 for what, _ in self.calls if what in ("clients", "records"))

    def _page_call(self, what: str, salon_id: int) -> None:
        if self.crash_after_pages is not None and self.page_calls >= self.crash_after_pages:
            self.calls.append((what, int(salon_id)))
            raise KeyboardInterrupt("worker killed")
        self._call(what, salon_id)

    def _call(self, what: str, salon_id: int) -> None:
        self.calls.append((what, int(salon_id)))
        if self.errors:
            raise self.errors.pop(0)

    def _salon(self, salon_id: int) -> dict[str, Any]:
        if int(salon_id) not in self.data:
            raise PermanentError("404", status=404, message="Компания не найдена")
        return self.data[int(salon_id)]

    # -- the marketplace -----------------------------------------------------------------------------
    def activation_callback(self, salon_id: int, api_key: str, webhook_urls: list[str]) -> Reply:
        self.activations.append({"salon_id": int(salon_id), "api_key": api_key, "webhook_urls": list(webhook_urls)})
        self._call("activate", salon_id)
        entry = self.installs.setdefault(int(salon_id), {"status": "uninstalled"})
        if entry["status"] == "active":
            raise PermanentError("403", status=403, message=f"Пользователь {ALREADY_INSTALLED} это приложение")
        entry.update(status="active", api_key=api_key, webhook_urls=list(webhook_urls))
        return Reply(301, None, {}, {"Location": f"https://yclients.com/appstore/{int(salon_id)}/installed"})

    def integration_status(self, salon_id: int) -> dict:
        self._call("status", salon_id)
        entry = self.installs.get(int(salon_id))
        if entry is None:
            raise PermanentError("404", status=404, message="Приложение не установлено в салоне")
        return {"connection_status": {"status": entry["status"]}, "logs": [], "payments": []}

    def is_installed_and_active(self, salon_id: int) -> bool:
        try:
            return self.integration_status(salon_id)["connection_status"]["status"] == "active"
        except PermanentError as exc:
            if exc.status == 404:
                return False
            raise

    def installation_status(self, salon_id: int) -> str:
        """As YclientsApi reads it: 404 is `not_installed`, 403 `forbidden`, other errors raise."""
        try:
            return self.integration_status(salon_id)["connection_status"]["status"]
        except PermanentError as exc:
            if exc.status in (403, 404):
                return "forbidden" if exc.status == 403 else "not_installed"
            raise

    def company_title(self, salon_id: int) -> str | None:
        try:
            return self.company(salon_id).get("title") or None
        except PermanentError:
            return None

    def uninstall(self, salon_id: int) -> bool:
        self._call("uninstall", salon_id)
        entry = self.installs.get(int(salon_id))
        if not entry or entry["status"] not in ("active", "pending"):
            return False
        entry["status"] = "uninstalled"
        return True

    # -- the salon's data ----------------------------------------------------------------------------
    def _list(self, salon_id: int, what: str) -> list:
        salon = self._salon(salon_id)
        if "source" in salon:
            return list(getattr(salon["source"], what)())
        return list(salon.get(what) or [])

    def company(self, salon_id: int) -> dict:
        self._call("company", salon_id)
        salon = self._salon(salon_id)
        return dict(salon["source"].company() if "source" in salon else salon.get("company") or {})

    def staff_schedule(self, salon_id: int, staff_id: int, start_date: str, end_date: str) -> list:
        self._call("schedule", salon_id)
        salon = self._salon(salon_id)
        if "source" in salon:
            return salon["source"].schedule(int(staff_id), dt.date.fromisoformat(start_date),
                                            dt.date.fromisoformat(end_date)) or []
        days = (salon.get("schedules") or {}).get(int(staff_id), [])
        return [day for day in days if start_date <= day["date"] <= end_date]

    def service_categories(self, salon_id: int) -> list:
        self._call("service_categories", salon_id)
        return self._list(salon_id, "service_categories")

    def services(self, salon_id: int) -> list:
        self._call("services", salon_id)
        return self._list(salon_id, "services")

    def staff(self, salon_id: int) -> list:
        self._call("staff", salon_id)
        return self._list(salon_id, "staff")

    def clients_page(self, salon_id: int, page: int) -> Page:
        self._page_call("clients", salon_id)
        salon = self._salon(salon_id)
        if "source" in salon:
            source = salon["source"]
            return self._page("clients", _Lazy(range(source.spec.clients), source.client), page, CLIENTS_PAGE_SIZE)
        return self._page("clients", salon.get("clients") or [], page, CLIENTS_PAGE_SIZE)

    def records_page(self, salon_id: int, page: int, start_date: str, end_date: str,
                     changed_after: str | None = None) -> Page:
        self._page_call("records", salon_id)
        salon = self._salon(salon_id)
        if "source" in salon:
            source = salon["source"]
            indexes = source.record_range(dt.date.fromisoformat(start_date), dt.date.fromisoformat(end_date))
            return self._page("records", _Lazy(indexes, source.record), page, RECORDS_PAGE_SIZE)
        records = [r for r in salon.get("records") or []
                   if start_date <= str(r.get("date", ""))[:10] <= end_date]
        return self._page("records", records, page, RECORDS_PAGE_SIZE)

    def _page(self, what: str, items, page: int, asked: int) -> Page:
        size = min(asked, self.page_sizes.get(what, asked))  # what YCLIENTS gives per page
        return Page(page, list(items[(page - 1) * size: page * size]), len(items), asked)


class _Lazy:
    """A generated list: `make(index)` for each of `indexes`, built only when sliced."""

    def __init__(self, indexes, make):
        self.indexes, self.make = indexes, make

    def __len__(self) -> int:
        return len(self.indexes)

    def __getitem__(self, part: slice) -> list:
        return [self.make(i) for i in self.indexes[part]]
