"""Shared pieces of the fault and abuse tests: a small office and distinct valid couples
(tests.support.races fires the requests)."""

from bench.ids import couple

# Wednesday 10 June 2026, 10:00 in Suining: the office is open (walk-ins, calls), and Monday
# 15 June is bookable.
NOW = "2026-06-10T10:00:00+08:00"
TODAY = "2026-06-10"
MONDAY = "2026-06-15"
TUESDAY = "2026-06-16"

def office_toml(code: str, name: str, windows: int = 3) -> str:
    """One [[offices]] table of the small test office: window 1 serves marriage and reissue,
    each further window marriage only."""
    window_tables = "".join(
        f'\n  [[offices.windows]]\n  number = "{number}"\n  services = '
        + ('["marriage", "reissue"]' if number == 1 else '["marriage"]') + "\n"
        for number in range(1, windows + 1))
    return f"""
[[offices]]
code = "{code}"
name = "{name}"
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
""" + window_tables


OFFICE_TOML = office_toml("robust", "健壮性测试登记处")
SERVER_ENV = {"XIYUE_FROZEN_NOW": NOW}


def booking(index: int, day: str = MONDAY, start: str = "09:00",
            office: str = "robust") -> dict:
    return {"office": office, "service": "marriage", "date": day, "start": start,
            "applicants": couple(index)}


def ids_of(index: int) -> list[str]:
    return [person["id_number"] for person in couple(index)]
