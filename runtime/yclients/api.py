"""The YCLIENTS endpoints the pipeline uses, over YclientsClient (reference §3, §5)."""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Iterator

from runtime.yclients.client import Reply, YclientsClient, client_from_settings
from runtime.yclients.errors import PermanentError
from runtime.yclients.ratelimit import BACKGROUND, INTERACTIVE

CLIENTS_PAGE_SIZE = 200  # the documented maximum of clients/search
RECORDS_PAGE_SIZE = 200  # undocumented maximum: we paginate by what the server returns anyway
ALREADY_INSTALLED = "уже установил"
NOT_INSTALLED = 404  # the partner uninstall of an app that is not installed (reference §5.1 #8)
# A runaway list (a server that keeps answering full pages) stops here with a warning: 5,000 pages of 200
# is a million items, far beyond any salon (the largest real one we know has ~20,000 clients).
MAX_PAGES = 5000

logger = logging.getLogger("aiadmin.yclients")


@dataclass
class Page:
    """One page of a paginated list: its items, the server's total_count (None when it sent none), the
    page size we asked for, and whether it is the last one (set by `pages`)."""

    number: int
    items: list
    total: int | None
    size: int | None = None
    last: bool = False


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
                                   allow_redirects=False, user_auth=False, budget_caller=f"activation:{int(salon_id)}")

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
    def uninstall(self, salon_id: int) -> bool:
        """Partner-side uninstall (reference §5.1 #8). True when it was installed, False on 404 (already not)."""
        try:
            self.client.request("POST", f"/marketplace/salon/{int(salon_id)}/application/{self.application_id}"
                                        "/uninstall", user_auth=False)
        except PermanentError as exc:
            if exc.status == NOT_INSTALLED:
                return False
            raise
        return True

    def company(self, salon_id: int) -> dict:
        return self.client.request("GET", f"/api/v1/company/{int(salon_id)}").data or {}

    def staff_schedule(self, salon_id: int, staff_id: int, start_date: str, end_date: str) -> list:
        """One staff member's working days over [start, end]: `[{date, is_working, slots: [{from, to}]}]`."""
        path = f"/api/v1/schedule/{int(salon_id)}/{int(staff_id)}/{start_date}/{end_date}"
        return self.client.request("GET", path).data or []

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
        return Page(page, list(reply.data or []), _total(reply), CLIENTS_PAGE_SIZE)

    def records_page(self, salon_id: int, page: int, start_date: str, end_date: str,
                     changed_after: str | None = None) -> Page:
        params: dict[str, Any] = {"page": page, "count": RECORDS_PAGE_SIZE, "start_date": start_date,
                                  "end_date": end_date}
        if changed_after:
            # An incremental read also asks for deleted records, so it learns about deletions (`deleted: true`).
            params["changed_after"] = changed_after
            params["with_deleted"] = 1
        reply = self.client.request("GET", f"/api/v1/records/{int(salon_id)}", params=params)
        return Page(page, list(reply.data or []), _total(reply), RECORDS_PAGE_SIZE)


def _total(reply: Reply) -> int | None:
    value = (reply.meta or {}).get("total_count")
    if value is None or isinstance(value, bool):
        return None
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return None


def is_last(page: Page, done: int, max_pages: int = MAX_PAGES) -> bool:
    """Whether `page` ends the list, `done` counting every item up to and including it.

    With total_count: when `done` reaches it, whatever size the server actually returned. Without it:
    on a short page (fewer than we asked for). Always on an empty page (the list shrank under us), and
    at `max_pages`, with a warning, so neither a lying total nor endless full pages loop forever."""
    if not page.items:
        return True
    if page.total is not None:
        if done >= page.total:
            return True
    elif page.size is None or len(page.items) < page.size:
        return True
    if page.number >= max_pages:
        logger.warning("stopped paging after %s pages (%s items; total_count %s): the cap was reached",
                       page.number, done, page.total)
        return True
    return False


def pages(fetch, start_page: int = 1, done: int = 0, max_pages: int = MAX_PAGES,
          prefetch: bool = False) -> Iterator[Page]:
    """Every page from `start_page` until `is_last`; each page's `last` says whether it ended the list.

    `prefetch`: while the caller handles a page (the sync stores it), the next one is already being
    fetched in a helper thread; pages and errors still arrive in order, and no page past the last is
    asked for. A caller that stops early leaves at most that one request behind (its answer is dropped)."""
    if not prefetch:
        page = start_page
        while True:
            current = fetch(page)
            done += len(current.items)
            current.last = is_last(current, done, max_pages)
            yield current
            if current.last:
                return
            page += 1
    ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="yclients-prefetch")
    try:
        page = start_page
        upcoming = ahead.submit(fetch, page)
        while True:
            current = upcoming.result()
            done += len(current.items)
            current.last = is_last(current, done, max_pages)
            if not current.last:
                upcoming = ahead.submit(fetch, page + 1)
            yield current
            if current.last:
                return
            page += 1
    finally:
        ahead.shutdown(wait=False, cancel_futures=True)


# A sync's call that would wait longer than this for budget raises BudgetWait instead (workers/sync/ checkpoints
# and re-enqueues itself with the wait as its delay): no worker thread sleeps for budget.
BACKGROUND_MAX_HOLD = 1.0


def api_from_settings(settings, redis_client=None) -> YclientsApi:
    """The syncs' API: BACKGROUND priority (only what interactive calls leave), never holding a thread longer
    than BACKGROUND_MAX_HOLD for budget."""
    return YclientsApi(client_from_settings(settings, redis_client, priority=BACKGROUND,
                                            max_hold=BACKGROUND_MAX_HOLD), settings.yclients_app_id)


# An onboarding job's call that would wait longer than this for budget raises BudgetWait: the activation comes
# back in a new message at its turn (its place in the line of waiting interactive callers is kept), the welcome
# does without the company card. Worker threads stay free for the welcomes and messages of other owners.
INTERACTIVE_MAX_HOLD = 1.0


def priority_api_from_settings(settings, redis_client=None) -> YclientsApi:
    """INTERACTIVE priority for onboarding jobs an owner waits for (the activation callback, the welcome's
    company card when the install check's copy is gone); BudgetWait past INTERACTIVE_MAX_HOLD."""
    return YclientsApi(client_from_settings(settings, redis_client, priority=INTERACTIVE,
                                            max_hold=INTERACTIVE_MAX_HOLD), settings.yclients_app_id)


# An owner is waiting on the page: the install check gives up fast and says "try again in a minute"
# rather than waiting out a busy budget or a slow YCLIENTS (the client's own retries included).
INTERACTIVE_TIMEOUT = 5.0
INTERACTIVE_ATTEMPTS = 2
INTERACTIVE_BUDGET_WAIT = 5.0


def interactive_api_from_settings(settings, redis_client=None) -> YclientsApi:
    """INTERACTIVE priority in the same shared budget, with short timeouts for the install check."""
    client = client_from_settings(settings, redis_client, priority=INTERACTIVE)
    client.timeout = min(client.timeout, INTERACTIVE_TIMEOUT)
    client.attempts = INTERACTIVE_ATTEMPTS
    if getattr(client.limiter, "max_wait", None) is not None:
        client.limiter.max_wait = INTERACTIVE_BUDGET_WAIT
    return YclientsApi(client, settings.yclients_app_id)
