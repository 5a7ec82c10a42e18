"""Booking test helpers: the pinned clock, valid applicants and request bodies."""

from tests.booking.ids import make_id

# Wednesday 10 June 2026, 10:00 in Suining: Thursday 11 June onwards is bookable (the
# day's bookings close at 15:00 the day before), up to 10 July. 19 June is 端午节.
NOW = "2026-06-10T10:00:00+08:00"
MONDAY = "2026-06-15"
TUESDAY = "2026-06-16"
DRAGON_BOAT = "2026-06-19"


def person(name: str = "张三", sex: str = "M", birth: str = "19900101", phone: str = "13800138000",
           **extra) -> dict:
    return {"name": name, "id_type": "resident_id", "id_number": make_id(birth, sex),
            "phone": phone, **extra}


def couple(groom_birth: str = "19900101", bride_birth: str = "19920202") -> list[dict]:
    return [person("张三", "M", groom_birth, "13800138000"),
            person("李小红", "F", bride_birth, "139 0013 9000")]


def payload(office: str = "chuanshan", service: str = "marriage", date: str = MONDAY,
            start: str = "09:00", applicants: list | None = None) -> dict:
    return {"office": office, "service": service, "date": date, "start": start,
            "applicants": couple() if applicants is None else applicants}


def problem_code(response) -> str:
    assert response.mimetype == "application/problem+json", response.get_data(as_text=True)
    return response.get_json()["code"]
