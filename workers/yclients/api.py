"""The YCLIENTS endpoints the pipeline uses, over YclientsClient (reference §3, §5)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from workers.yclients.client import Reply, YclientsClient
from workers.yclients.errors import PermanentError

CLIENTS_PAGE_SIZE = 200  # the documented maximum of clients/search
RECORDS_PAGE_SIZE = 200  # undocumented maximum: we paginate by what the server returns anyway
ALREADY_INSTALLED = "уже установил"


@dataclass
class Page:
    """One page of a paginated list: its items and the server's total_count."""

    number: int
    items: list
    total: int


class YclientsApi:
    def __init__(self, client: YclientsClient, application_id: int):
        self.client = client
        self.application_id = int(application_id)

    # -- marketplace ---------------------------------------------------------------------------
    def activation_callback(self, salon_id: int, api_key: str, webhook_urls: list[str]) -> Reply:
        """POST callback/redirect WITHOUT following the 301 (following it is how HTML got parsed as JSON)."""
        body = {"salon_id": int(salon_id), "application_id": self.application_id, "api_key": api_key,
                "webhook_urls": list(webhook_urls)}
        return self.client.request("POST", "/marketplace/partner/callback/redirect", json=body,
                                   allow_redirects=False, user_auth=False)

    def integration_status(self, salon_id: int) -> dict:
        reply = self.client.request("GET", f"/marketplace/salon/{int(salon_id)}/application/{self.application_id}",
                                    user_auth=False)
        return reply.data or {}

    def is_installed_and_active(self, salon_id: int) -> bool:
        try:
            data = self.integration_status(salon_id)
        except PermanentError as exc:
            if exc.status == 404:
                return False
            raise
        return ((data.get("connection_status") or {}).get("status")) == "active"

    def installation_status(self, salon_id: int) -> str:
        """YCLIENTS' `connection_status.status` for our application in this branch (e.g. pending, active,
        uninstalled), `not_installed` on 404, `forbidden` on 403. Transient errors and other 4xx raise."""
        try:
            data = self.integration_status(salon_id)
        except PermanentError as exc:
            if exc.status == 404:
                return "not_installed"
            if exc.status == 403:
                return "forbidden"
            raise
        status = (data.get("connection_status") or {}).get("status") if isinstance(data, dict) else None
        return str(status).strip().lower() if status else "unknown"

    def company_title(self, salon_id: int) -> str | None:
        """The branch's company title, or None when YCLIENTS does not give it (4xx) or it is empty."""
        try:
            data = self.company(salon_id)
        except PermanentError:
            return None
        title = data.get("title") if isinstance(data, dict) else None
        return str(title) if title else None

    # -- salon data ----------------------------------------------------------------------------
    def company(self, salon_id: int) -> dict:
        return self.client.request("GET", f"/api/v1/company/{int(salon_id)}").data or {}

    def service_categories(self, salon_id: int) -> list:
        return self.client.request("GET", f"/api/v1/company/{int(salon_id)}/service_categories").data or []

    def services(self, salon_id: int) -> list:
        return self.client.request("GET", f"/api/v1/company/{int(salon_id)}/services").data or []

    def staff(self, salon_id: int) -> list:
        return self.client.request("GET", f"/api/v1/company/{int(salon_id)}/staff").data or []

    def clients_page(self, salon_id: int, page: int) -> Page:
        body = {"page": page, "page_size": CLIENTS_PAGE_SIZE, "fields": [
            "id", "name", "phone", "email", "discount", "first_visit_date", "last_visit_date", "spent",
            "sold_amount", "visits_count"], "order_by": "id", "order_by_direction": "asc"}
        reply = self.client.request("POST", f"/api/v1/company/{int(salon_id)}/clients/search", json=body)
        return Page(page, list(reply.data or []), _total(reply))

    def records_page(self, salon_id: int, page: int, start_date: str, end_date: str,
                     changed_after: str | None = None) -> Page:
        params: dict[str, Any] = {"page": page, "count": RECORDS_PAGE_SIZE, "start_date": start_date,
                                  "end_date": end_date}
        if changed_after:
            params["changed_after"] = changed_after
        reply = self.client.request("GET", f"/api/v1/records/{int(salon_id)}", params=params)
        return Page(page, list(reply.data or []), _total(reply))


def _total(reply: Reply) -> int:
    try:
        return int(reply.meta.get("total_count", 0))
    except (TypeError, ValueError):
        return 0


def pages(fetch, start_page: int = 1, done: int = 0) -> Iterator[Page]:
    """Every page from `start_page` until `done` reaches total_count, whatever size the server returned.

    An empty page ends the loop too (the total shrank under us), so a changing list cannot loop forever.
    """
    page = start_page
    while True:
        current = fetch(page)
        yield current
        done += len(current.items)
        if not current.items or done >= current.total:
            return
        page += 1


def api_from_settings(settings, redis_client=None) -> YclientsApi:
    from workers.yclients.client import client_from_settings

    return YclientsApi(client_from_settings(settings, redis_client), settings.yclients_app_id)


# An owner is waiting on the page: the install check gives up fast and says "try again in a minute"
# rather than waiting out a busy budget or a slow YCLIENTS (the client's own retries included).
INTERACTIVE_TIMEOUT = 5.0
INTERACTIVE_ATTEMPTS = 2
INTERACTIVE_BUDGET_WAIT = 5.0


def interactive_api_from_settings(settings, redis_client=None) -> YclientsApi:
    """The same shared budget as every other call, with short timeouts for the install check."""
    from workers.yclients.client import client_from_settings

    client = client_from_settings(settings, redis_client)
    client.timeout = min(client.timeout, INTERACTIVE_TIMEOUT)
    client.attempts = INTERACTIVE_ATTEMPTS
    if getattr(client.limiter, "max_wait", None) is not None:
        client.limiter.max_wait = INTERACTIVE_BUDGET_WAIT
    return YclientsApi(client, settings.yclients_app_id)
