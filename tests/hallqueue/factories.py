"""Test data for the hall: valid ID numbers, appointments made directly with the models
(booking's services are not needed to set up a check-in), walk-in tickets through the API."""

from datetime import date, timedelta

from booking.identity import check_character
from booking.models import Applicant, Appointment, Slot
from core.extensions import db
from core.privacy import encrypt, keyed_hash, mask_id

# A Monday in June 2026: chuanshan opens 09:00-12:00 and 13:30-17:00.
OPEN_NOW = "2026-06-15T10:00:00+08:00"
TODAY = date(2026, 6, 15)


def id_number(serial: int, sex: str = "M", birth: str | None = None,
              area: str = "510903") -> str:
    """A valid 18-character resident ID number; `serial` makes it unique."""
    if birth is None:  # 500 numbers per birth date, then the next day
        birth = (date(1990, 1, 1) + timedelta(days=serial // 500)).strftime("%Y%m%d")
    sequence = (serial % 500) * 2
    sequence += 1 if sex == "M" else 0  # the 17th digit is odd for men, even for women
    first17 = f"{area}{birth}{sequence:03d}"
    return first17 + check_character(first17)


_codes = iter(range(1, 10**6))


def make_appointment(office, service: str = "marriage", day: date = TODAY,
                     start: str = "10:00", people: int | None = None,
                     status: str = "booked", phones: tuple[str, ...] = ("+8613800138000",),
                     serial: int | None = None) -> tuple[Appointment, list[str]]:
    """An appointment with its applicants; returns it and the applicants' ID numbers."""
    people = people or (1 if service == "reissue" else 2)
    n = next(_codes) if serial is None else serial
    end = f"{int(start[:2]) + (1 if start[3:] == '30' else 0):02d}:{'00' if start[3:] == '30' else '30'}"
    slot = db.session.query(Slot).filter_by(office_id=office.id, service_code=service,
                                             date=day, start=start).one_or_none()
    if slot is None:
        slot = Slot(office_id=office.id, service_code=service, date=day, start=start, end=end,
                    capacity=10, booked=0)
        db.session.add(slot)
        db.session.flush()
    slot.booked += 1
    appointment = Appointment(code=f"HQ{n:06d}", token=f"token-appointment-{n:08d}",
                              office_id=office.id, service_code=service, slot_id=slot.id,
                              date=day, start=start, end=end, status=status)
    numbers = []
    for position in range(people):
        sex = "M" if position == 0 else "F"
        number = id_number(n * 10 + position, sex=sex)
        numbers.append(number)
        appointment.applicants.append(Applicant(
            position=position, service_code=service, name=["张小三", "李小四"][position % 2],
            id_type="resident_id", id_number_enc=encrypt(number), id_hash=keyed_hash(number),
            id_masked=mask_id(number),
            active_hash=keyed_hash(number) if status in ("booked", "checked_in") else None,
            sex=sex, birth_date=date(1990, 1, 1),
            phone=phones[position] if position < len(phones) else ""))
    db.session.add(appointment)
    db.session.commit()
    return appointment, numbers


def walk_in(client, headers, office: str = "chuanshan", service: str = "marriage",
            serial: int = 1, **extra):
    people = 1 if service == "reissue" else 2
    present = [id_number(serial * 10 + i, sex="MF"[i]) for i in range(people)]
    return client.post(f"/api/v1/offices/{office}/tickets", headers=headers,
                       json={"service": service, "present": present, **extra})
