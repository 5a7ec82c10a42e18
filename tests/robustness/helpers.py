"""Shared pieces of the fault and abuse tests: a small office and distinct valid couples
(tests.support.races fires the requests)."""

from bench.ids import couple

# Wednesday 10 June 2026, 10:00 in Suining: the office is open (walk-ins, calls), and Monday
# 15 June is bookable.
NOW = "2026-06-10T10:00:00+08:00"
TODAY = "2026-06-10"
MONDAY = "2026-06-15"
TUESDAY = "2026-06-16"

OFFICE_TOML = """
[[offices]]
code = "robust"
name = "健壮性测试登记处"
timezone = "Asia/Shanghai"
services = ["marriage", "reissue"]
slot_minutes = 30
booking_days_ahead = 30

  [offices.hours]
  mon = ["09:00-12:00", "13:30-17:00"]
  tue = ["09:00-12:00", "13:30-17:00"]
  wed = ["09:00-12:00", "13:30-17:00"]
  thu = ["09:00-12:00", "13:30-17:00"]
  fri = ["09:00-12:00", "13:30-17:00"]

  [offices.capacity]
  marriage = 3
  reissue = 2

  [[offices.windows]]
  number = "1"
  services = ["marriage", "reissue"]

  [[offices.windows]]
  number = "2"
  services = ["marriage"]

  [[offices.windows]]
  number = "3"
  services = ["marriage"]
"""
SERVER_ENV = {"XIYUE_FROZEN_NOW": NOW}


def booking(index: int, day: str = MONDAY, start: str = "09:00",
            office: str = "robust") -> dict:
    return {"office": office, "service": "marriage", "date": day, "start": start,
            "applicants": couple(index)}


def ids_of(index: int) -> list[str]:
    return [person["id_number"] for person in couple(index)]
