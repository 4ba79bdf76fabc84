"""An in-memory YCLIENTS with the marketplace's install semantics, for unit tests (like `dramatiq.brokers.stub`).

What it keeps from YCLIENTS (reference yclients-marketplace.md; the contract suite in tests/contract/
runs it against the sandbox): «Подключить» (`press_connect`) makes a branch `pending` (an active one
stays active); the activation callback answers 301 and makes it `active`, and a second one is refused
with 403 «уже установил»; the application status of a branch never installed is 404 (`not_installed`);
a partner uninstall of an installed or installing branch succeeds once, then 404; data lists are paged
by the sizes the real client asks for, with `total_count`. `errors` are raised, in order, by the next calls.

Test controls: `press_connect`, `load` (a salon's data) and `set_status` (a branch's application status
as YCLIENTS reports it, e.g. "frozen") set the scene; `calls` logs every call as (what, salon_id) and
`activations` the arguments of every activation callback, as sent (also those answered with an error).
"""
from __future__ import annotations

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
    def company(self, salon_id: int) -> dict:
        self._call("company", salon_id)
        return dict(self._salon(salon_id).get("company") or {})

    def staff_schedule(self, salon_id: int, staff_id: int, start_date: str, end_date: str) -> list:
        self._call("schedule", salon_id)
        days = (self._salon(salon_id).get("schedules") or {}).get(int(staff_id), [])
        return [day for day in days if start_date <= day["date"] <= end_date]

    def service_categories(self, salon_id: int) -> list:
        self._call("service_categories", salon_id)
        return list(self._salon(salon_id).get("service_categories") or [])

    def services(self, salon_id: int) -> list:
        self._call("services", salon_id)
        return list(self._salon(salon_id).get("services") or [])

    def staff(self, salon_id: int) -> list:
        self._call("staff", salon_id)
        return list(self._salon(salon_id).get("staff") or [])

    def clients_page(self, salon_id: int, page: int) -> Page:
        self._call("clients", salon_id)
        return _page(self._salon(salon_id).get("clients") or [], page, CLIENTS_PAGE_SIZE)

    def records_page(self, salon_id: int, page: int, start_date: str, end_date: str,
                     changed_after: str | None = None) -> Page:
        self._call("records", salon_id)
        records = [r for r in self._salon(salon_id).get("records") or []
                   if start_date <= str(r.get("date", ""))[:10] <= end_date]
        return _page(records, page, RECORDS_PAGE_SIZE)


def _page(items: list, page: int, size: int) -> Page:
    return Page(page, list(items[(page - 1) * size: page * size]), len(items), size)
