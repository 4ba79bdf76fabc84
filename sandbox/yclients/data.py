"""Deterministic generated salons: the same salon id always yields the same data, computed lazily.

Lists that can be large (clients, records) are never materialised: item i is a pure function of
(salon, i). Records are spread evenly over a span around the anchor day and sorted by time, so a
date filter is an index range (two binary searches) and the large salon costs nothing until asked.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from bisect import bisect_left
from dataclasses import dataclass
from zoneinfo import ZoneInfo

FIRST = ["Анна", "Мария", "Елена", "Ольга", "Ирина", "Наталья", "Светлана", "Татьяна", "Алексей", "Дмитрий",
         "Сергей", "Андрей", "Павел", "Игорь", "Никита", "Юлия", "Ксения", "Виктория", "Максим", "Олег"]
LAST = ["Иванова", "Смирнова", "Кузнецова", "Попова", "Соколова", "Лебедева", "Козлова", "Новикова",
        "Морозова", "Петрова", "Волкова", "Соловьёва", "Васильева", "Зайцева", "Павлова", "Семёнова"]
CATEGORIES = ["Стрижки", "Окрашивание", "Укладки", "Маникюр", "Педикюр", "Брови и ресницы", "Уход за лицом",
              "Массаж"]
SERVICE_WORDS = ["классическая", "детская", "мужская", "экспресс", "премиум", "с укладкой", "комплекс",
                 "коррекция", "уход", "долговременная"]
SPECIALIZATIONS = ["Парикмахер", "Барбер", "Мастер маникюра", "Колорист", "Бровист", "Косметолог", "Массажист"]


@dataclass(frozen=True)
class SalonSpec:
    salon_id: int
    title: str
    services: int
    staff: int
    clients: int
    records: int
    group: str = ""  # branches of one multi-branch network share a group
    timezone: str = "Europe/Moscow"  # YCLIENTS `timezone_name`; record times are local to it
    city: str = "Москва"


SALONS = {
    962302: SalonSpec(962302, "KULTURA Малаховка", services=45, staff=10, clients=1400, records=4000),
    997441: SalonSpec(997441, "Салон Модератор", services=12, staff=3, clients=60, records=150),
    970001: SalonSpec(970001, "Сеть «Локон» — Центр", services=30, staff=6, clients=500, records=1200,
                      group="lokon"),
    970002: SalonSpec(970002, "Сеть «Локон» — Север", services=30, staff=5, clients=400, records=900,
                      group="lokon"),
    990000: SalonSpec(990000, "Большой салон «Мегаполис»", services=120, staff=40, clients=20000, records=100000),
    # Two hours ahead of Moscow: offset-less times read as Moscow or UTC land at the wrong instant.
    966001: SalonSpec(966001, "Студия «Урал»", services=8, staff=3, clients=40, records=120,
                      timezone="Asia/Yekaterinburg", city="Екатеринбург"),
}
SMALL, MODERATOR, LARGE, URAL = 962302, 997441, 990000, 966001
SCHEDULE_SLOTS = ([("10:00", "14:00"), ("15:00", "20:00")], [("09:00", "18:00")], [("12:00", "21:00")])
SPAN_BACK_DAYS, SPAN_AHEAD_DAYS = 30, 90  # records exist over [anchor-30d, anchor+90d)


def _h(*parts) -> int:
    """A stable pseudo-random integer for the given parts (no global RNG state)."""
    return int.from_bytes(hashlib.blake2b(repr(parts).encode(), digest_size=8).digest(), "big")


def iso(moment: dt.datetime, timezone: str = "Europe/Moscow") -> str:
    """A salon-local naive time as YCLIENTS writes it: ISO 8601 with the salon's offset on that day."""
    return moment.replace(tzinfo=ZoneInfo(timezone)).isoformat(timespec="seconds")


class SalonData:
    """The generated data of one salon; `anchor` is the day records are centred on (today)."""

    def __init__(self, spec: SalonSpec, anchor: dt.date):
        self.spec = spec
        self.anchor = anchor
        self.span_start = dt.datetime.combine(anchor - dt.timedelta(days=SPAN_BACK_DAYS), dt.time(0, 0))
        self.span_seconds = (SPAN_BACK_DAYS + SPAN_AHEAD_DAYS) * 86400
        self.id_base = spec.salon_id * 100_000  # ids unique across salons, stable across runs

    # -- small lists -------------------------------------------------------------------------
    def company(self) -> dict:
        s = self.spec
        return {"id": s.salon_id, "title": s.title, "public_title": s.title, "address": "ул. Примерная, 1",
                "phone": f"+7900{s.salon_id % 10_000_000:07d}", "email": f"salon{s.salon_id}@example.com",
                "timezone_name": s.timezone, "timezone": _utc_hours(s.timezone, self.anchor),
                "country": "Россия", "city": s.city, "short_descr": "Салон красоты", "active": 1,
                "currency_short_title": "₽", "site": "", "coordinate_lat": 55.75, "coordinate_lon": 37.62,
                "schedule": "Пн-Вс: 09:00-21:00"}

    def schedule(self, staff_id: int, start: dt.date, end: dt.date) -> list[dict] | None:
        """One staff member's days over [start, end] (YCLIENTS `GET /schedule/...`); None for an unknown staff id."""
        ids = [member["id"] for member in self.staff()]
        if staff_id not in ids:
            return None
        position = ids.index(staff_id)
        slots = SCHEDULE_SLOTS[position % len(SCHEDULE_SLOTS)]
        days = []
        day = start
        while day <= end and len(days) < 62:
            working = (day.toordinal() + position) % 3 != 0  # two days on, one off, staggered per staff
            days.append({"date": day.isoformat(), "is_working": int(working),
                         "slots": [{"from": a, "to": b} for a, b in slots] if working else []})
            day += dt.timedelta(days=1)
        return days

    def service_categories(self) -> list[dict]:
        count = min(len(CATEGORIES), max(1, self.spec.services // 6))
        return [{"id": self.id_base + 100 + i, "title": CATEGORIES[i], "weight": count - i, "staff": []}
                for i in range(count)]

    def services(self) -> list[dict]:
        categories = self.service_categories()
        out = []
        for i in range(self.spec.services):
            category = categories[i % len(categories)]
            price = 500 + (_h(self.spec.salon_id, "svc", i) % 60) * 50
            out.append({"id": self.id_base + 1000 + i, "category_id": category["id"],
                        "title": f"{category['title']}: {SERVICE_WORDS[i % len(SERVICE_WORDS)]} {i + 1}",
                        "price_min": price, "price_max": price + 500, "duration": 1800 + (i % 5) * 900,
                        "active": 1, "weight": i})
        return out

    def staff(self) -> list[dict]:
        out = []
        for i in range(self.spec.staff):
            h = _h(self.spec.salon_id, "staff", i)
            out.append({"id": self.id_base + 500 + i, "name": f"{FIRST[h % len(FIRST)]} {LAST[(h >> 8) % len(LAST)]}",
                        "specialization": SPECIALIZATIONS[i % len(SPECIALIZATIONS)], "bookable": True,
                        "hidden": 0, "fired": 0, "rating": 5})
        return out

    # -- clients -----------------------------------------------------------------------------
    def client(self, i: int) -> dict:
        h = _h(self.spec.salon_id, "client", i)
        return {"id": self.spec.salon_id * 1_000_000 + i + 1, "name": f"{FIRST[h % len(FIRST)]} {LAST[(h >> 8) % len(LAST)]}",
                "phone": f"79{(h >> 16) % 1_000_000_000:09d}", "email": f"client{i + 1}@example.com" if h % 3 else "",
                "discount": 0, "visits_count": (h >> 40) % 30, "spent": (h >> 20) % 50000,
                "first_visit_date": "2024-01-15", "last_visit_date": "2025-11-01"}

    # -- records -----------------------------------------------------------------------------
    def record_time(self, i: int) -> dt.datetime:
        # Evenly spread and monotone in i, snapped to 5 minutes: index order is time order.
        offset = (i * self.span_seconds) // self.spec.records
        return self.span_start + dt.timedelta(seconds=offset - offset % 300)

    def record(self, i: int) -> dict:
        h = _h(self.spec.salon_id, "record", i)
        staff = self.staff()[h % self.spec.staff]
        service = self.services()[(h >> 8) % self.spec.services]
        client = self.client((h >> 16) % self.spec.clients)
        moment = self.record_time(i)
        return {"id": self.record_id(i), "company_id": self.spec.salon_id, "staff_id": staff["id"],
                "staff": {"id": staff["id"], "name": staff["name"]},
                "services": [{"id": service["id"], "title": service["title"], "cost": service["price_min"],
                              "first_cost": service["price_min"], "discount": 0}],
                "client": {"id": client["id"], "name": client["name"], "phone": client["phone"]},
                "datetime": iso(moment, self.spec.timezone), "date": moment.strftime("%Y-%m-%d %H:%M:%S"),
                "seance_length": service["duration"], "length": service["duration"],
                "attendance": 1 if moment.date() < self.anchor else 0, "comment": "",
                "deleted": False, "last_change_date": iso(self.span_start, self.spec.timezone),
                "create_date": iso(self.span_start, self.spec.timezone)}

    def record_id(self, i: int) -> int:
        return self.spec.salon_id * 10_000_000 + i + 1

    def index_of_record(self, record_id: int) -> int | None:
        index = int(record_id) - self.spec.salon_id * 10_000_000 - 1
        return index if 0 <= index < self.spec.records else None

    def record_range(self, start: dt.date, end: dt.date) -> range:
        """Indexes of records whose date is within [start, end] (inclusive days, as YCLIENTS reads them)."""
        times = _LazyTimes(self)
        lo = bisect_left(times, dt.datetime.combine(start, dt.time(0, 0)))
        hi = bisect_left(times, dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0, 0)))
        return range(lo, hi)


def _utc_hours(timezone: str, day: dt.date) -> int:
    offset = dt.datetime.combine(day, dt.time(12)).replace(tzinfo=ZoneInfo(timezone)).utcoffset()
    return int(offset.total_seconds() // 3600)


class _LazyTimes:
    """A sequence view of record times for bisect, without building the list."""

    def __init__(self, data: SalonData):
        self.data = data

    def __len__(self):
        return self.data.spec.records

    def __getitem__(self, i):
        return self.data.record_time(i)


class Catalog:
    """Every generated salon, with caches for the small lists."""

    def __init__(self, anchor: dt.date | None = None):
        # Today as YCLIENTS (Moscow) sees it, not this machine's date: a salon's records window is around its own
        # today, which for a Moscow salon is this date at any hour of the UTC day.
        self.anchor = anchor or dt.datetime.now(ZoneInfo("Europe/Moscow")).date()
        self._salons: dict[int, SalonData] = {}

    def get(self, salon_id: int) -> SalonData | None:
        spec = SALONS.get(int(salon_id))
        if spec is None:
            return None
        if salon_id not in self._salons:
            self._salons[salon_id] = _Cached(spec, self.anchor)
        return self._salons[salon_id]


class _Cached(SalonData):
    """Small lists computed once per salon (records look up staff/services per item)."""

    def __init__(self, spec, anchor):
        super().__init__(spec, anchor)
        self._staff = SalonData.staff(self)
        self._services = SalonData.services(self)

    def staff(self):
        return self._staff

    def services(self):
        return self._services
