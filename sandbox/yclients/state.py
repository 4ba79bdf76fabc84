"""The sandbox's mutable state: installs per salon (status, api_key, webhook_urls, logs), with a lock."""
from __future__ import annotations

import datetime as dt
import threading


def _now() -> str:
    return dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")


class Installs:
    def __init__(self):
        self.lock = threading.Lock()
        self.salons: dict[int, dict] = {}
        self.callbacks: list[dict] = []  # every activation callback received, in order
        self.deleted: dict[int, dict[int, str]] = {}  # salon -> {record id: deleted at (salon-local ISO)}

    def _entry(self, salon_id: int) -> dict:
        return self.salons.setdefault(int(salon_id), {"status": "uninstalled", "api_key": None,
                                                      "webhook_urls": [], "logs": []})

    def _move(self, entry: dict, status: str, source: str) -> None:
        entry["logs"].append({"changed_at": _now(), "status_from": entry["status"], "status_to": status,
                              "source": source})
        entry["status"] = status

    def pending(self, salon_id: int) -> None:
        with self.lock:
            entry = self._entry(salon_id)
            if entry["status"] != "active":
                self._move(entry, "pending", "marketplace")

    def activate(self, salon_id: int, api_key, webhook_urls) -> bool:
        """True when newly installed, False when it already was (YCLIENTS then answers 403)."""
        with self.lock:
            entry = self._entry(salon_id)
            if entry["status"] == "active":
                return False
            entry["api_key"] = api_key
            entry["webhook_urls"] = list(webhook_urls or [])
            self._move(entry, "active", "partner_api")
            return True

    def uninstall(self, salon_id: int, source: str) -> bool:
        """An installed (active) or installing (pending) application is removed; False when there is none."""
        with self.lock:
            entry = self.salons.get(int(salon_id))
            if not entry or entry["status"] not in ("active", "pending"):
                return False
            self._move(entry, "uninstalled", source)
            return True

    def delete_record(self, salon_id: int, record_id: int, when: str) -> None:
        with self.lock:
            self.deleted.setdefault(int(salon_id), {})[int(record_id)] = when

    def deleted_records(self, salon_id: int) -> dict[int, str]:
        with self.lock:
            return dict(self.deleted.get(int(salon_id), {}))

    def uninstalled(self, salon_id: int) -> bool:
        """Explicitly uninstalled (by the owner or the partner), as opposed to never seen by the sandbox."""
        with self.lock:
            entry = self.salons.get(int(salon_id))
            return bool(entry and entry["status"] == "uninstalled" and entry["logs"])

    def get(self, salon_id: int) -> dict | None:
        with self.lock:
            entry = self.salons.get(int(salon_id))
            return None if entry is None else {**entry, "logs": list(entry["logs"])}

    def log_callback(self, body) -> None:
        with self.lock:
            self.callbacks.append(body)

    def reset(self) -> None:
        with self.lock:
            self.salons.clear()
            self.callbacks.clear()
            self.deleted.clear()
