"""The booking API: availability, appointments and the office's appointment list
(docs/development.md "API schemas").

The bodies of POST /appointments and POST /appointments/{token}/reschedule are checked by
booking.transactions (every field its own translated message, the ID number its own code
invalid_id_number, the count wrong_applicant_count …): these models describe those rules
exactly, in the form a client sends them (the service also forgives white space, brackets
and lower-case letters in ID numbers and names, and separators in phone numbers)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import Field

from booking.identity import NAME_MAX, NAME_RE
from core.schemas import (
    HHMM,
    NOT_BLANK,
    Absent,
    Answer,
    Body,
    IsoDate,
    NotBlank,
    Query,
    Says,
    WholeNumber,
    no_default,
)
from hours.schemas import DayKind

MAX_DAYS = 366
DEFAULT_DAYS = 14
AppointmentStatus = Literal["booked", "cancelled", "checked_in", "completed", "no_show"]
IdType = Literal["resident_id", "foreign_permanent_resident", "hk_macau_permit",
                 "taiwan_permit", "passport"]

# booking.identity's rules, as JSON Schema patterns (characters, not Python's \U escapes)
NAME_PATTERN = re.sub(r"\\[uU]([0-9a-fA-F]{4,8})", lambda m: chr(int(m.group(1), 16)),
                      NAME_RE.pattern)
_BIRTH = r"(18[5-9][0-9]|19[0-9]{2}|2[0-9]{3})(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])"
RESIDENT_PATTERN = rf"^([1-6][1-9][0-9]{{4}}|8[1-3]0000|9[0-9]{{5}}){_BIRTH}[0-9]{{3}}[0-9X]$"
FOREIGN_PATTERN = rf"^9[0-9]{{5}}{_BIRTH}[0-9]{{3}}[0-9X]$"
EIGHTEEN = ("18 characters: a 6-digit area code (mainland; 810000/820000/830000 for Hong "
            "Kong, Macau and Taiwan residents; 9… for foreigners), the birth date YYYYMMDD "
            "(1850 to today), 3 digits and a check character (ISO 7064 MOD 11-2, 0-9 or X).")


# --- requests --------------------------------------------------------------------------------

class AvailabilityQuery(Query):
    service: Annotated[str, Says("service is required, for example ?service=marriage")] = Field(
        min_length=1, description="a service code the office offers (GET /offices)")
    from_: IsoDate | Absent = Field(
        None, alias="from", json_schema_extra=no_default,
        description="the first day (default: today in the office's time zone)")
    days: WholeNumber = Field(DEFAULT_DAYS, ge=1, le=MAX_DAYS, description="how many days")


class DayQuery(Query):
    date: IsoDate | Absent = Field(None, json_schema_extra=no_default,
                                   description="the day (default: today at the office)")


class _Applicant(Body):
    name: str = Field(min_length=1, max_length=NAME_MAX, pattern=NAME_PATTERN, description=(
        f"1 to {NAME_MAX} characters once white space is collapsed: Han characters, Latin "
        "letters, spaces, the middle dot ·, hyphens, apostrophes and periods"))
    id_number: str = Field(min_length=1)
    phone: str = Field(pattern=NOT_BLANK, description=(
        "a mobile for the SMS: +country code and number (E.164), or an 11-digit mainland "
        "mobile 1[3-9]…; spaces, hyphens, dots and brackets are ignored. A staff booking "
        "(bearer token) may leave it out or empty: the office prints the confirmation"))


class _EighteenCharacters(_Applicant):
    """The number carries the birth date and sex; a declared sex or birth date must agree."""

    sex: Literal["M", "F", ""] | None = Field(None, description="if given, as in the number")
    birth_date: IsoDate | Literal[""] | None = Field(None,
                                                     description="if given, as in the number")


class ResidentApplicant(_EighteenCharacters):
    id_type: Literal["resident_id"] = Field(
        description="居民身份证, or 港澳台居民居住证 (the same 18-character number)")
    id_number: str = Field(pattern=RESIDENT_PATTERN, description=EIGHTEEN)


class ForeignResidentApplicant(_EighteenCharacters):
    id_type: Literal["foreign_permanent_resident"] = Field(description="外国人永久居留身份证")
    id_number: str = Field(pattern=FOREIGN_PATTERN, description=EIGHTEEN)


class _DeclaresSexAndBirth(_Applicant):
    """The document carries neither: the person declares them."""

    sex: Literal["M", "F"]
    birth_date: IsoDate = Field(description="1850 to today")


class HkMacauApplicant(_DeclaresSexAndBirth):
    id_type: Literal["hk_macau_permit"] = Field(description="港澳居民来往内地通行证")
    id_number: str = Field(pattern=r"^[HM][0-9]{8}([0-9]{2})?$",
                           description="H or M and 8 (or 10) digits")


class TaiwanApplicant(_DeclaresSexAndBirth):
    id_type: Literal["taiwan_permit"] = Field(description="台湾居民来往大陆通行证")
    id_number: str = Field(pattern=r"^[0-9]{8}([0-9]{2}[A-Z]?)?$",
                           description="8 digits (or 10 digits and a letter)")


class PassportApplicant(_DeclaresSexAndBirth):
    id_type: Literal["passport"]
    id_number: str = Field(pattern=r"^[A-Z0-9]{5,20}$", description="5 to 20 letters and digits")


Applicant = Annotated[ResidentApplicant | ForeignResidentApplicant | HkMacauApplicant
                      | TaiwanApplicant | PassportApplicant, Field(discriminator="id_type")]


class AppointmentRequest(Body):
    """Checked by booking.transactions.book: the office, the service it offers, the day
    and one of its bookable slots, then each applicant, then who may book."""

    office: str = Field(min_length=1, description="an office's code (GET /offices)")
    service: str = Field(min_length=1, description="a service the office offers")
    date: IsoDate
    start: HHMM = Field(description="the start of a bookable slot (availability)")
    language: str | None = Field(None, description=(
        "zh_CN or en: the language of the SMS and the calendar file (another value: the "
        "language of the request)"))
    applicants: list[Applicant] = Field(min_length=1, max_length=2, description=(
        "as many as the service has applicants (GET /services): else "
        "wrong_applicant_count"))


class Reschedule(Body):
    """Checked by booking.transactions.reschedule."""

    date: IsoDate
    start: HHMM = Field(description="the start of a bookable slot (availability)")


class AppointmentSearch(Body):
    query: Annotated[NotBlank, Says("query is required: an appointment code or an ID number")] = (
        Field(description="an appointment code or an applicant's ID number (in the body: never "
                          "in a URL)"))


class OfficeCancel(Body):
    reason: Annotated[NotBlank, Says("reason is required: say why the office cancels")] = Field(
        description="sent to the applicants by SMS")


DivorceCaseStatus = Literal["cooling_off", "withdrawn", "certified", "lapsed"]


class DivorceCaseQuery(Query):
    id_number: Annotated[str, Says("id_number is required: a party's ID number")] = Field(
        min_length=1, max_length=64, description="one party's ID number")


class DivorceWithdraw(Body):
    id_number: Annotated[NotBlank, Says("id_number is required: the ID number of the party "
                                        "who withdraws, presented in person")] = Field(
        max_length=64, description="the ID number of the party who withdraws (one alone may)")


# --- answers ---------------------------------------------------------------------------------

class SlotOut(Answer):
    start: HHMM
    end: HHMM
    capacity: int = Field(ge=0)
    remaining: int = Field(ge=0)
    bookable: bool


class AvailabilityPeak(Answer):
    code: str
    name: str


class AvailabilityDay(Answer):
    date: dt.date
    bookable: bool
    open: bool
    kind: DayKind
    peak: AvailabilityPeak | None
    reason: str | None = Field(description="why the day cannot be booked (null when it can)")
    slots: list[SlotOut]


class Availability(Answer):
    office: str
    service: str
    days: list[AvailabilityDay]


class MaskedApplicant(Answer):
    name: str = Field(description="masked: 张*三")
    id_number: str = Field(description="masked: 5109**********1234")
    id_type: IdType


class Appointment(Answer):
    """Names and ID numbers masked (docs/api.md §3)."""

    code: str = Field(pattern=r"^[A-Z0-9]{6,12}$", description="said at the front desk")
    token: str = Field(min_length=16, max_length=64,
                       description="the secret of the manage link: /appointments/{token}")
    status: AppointmentStatus
    channel: Literal["online", "staff"] = Field(description=(
        "online: booked by the couple; staff: booked for them by the office (电话预约/现场代约)"))
    office: str | None
    office_name: str
    service: str
    service_name: str
    date: dt.date
    start: HHMM
    end: HHMM
    applicants: list[MaskedApplicant]
    documents: list[str] = Field(description="what these applicants bring, in the request's "
                                             "language")


class OfficeAppointment(Appointment):
    id: int


class DayAppointments(Answer):
    office: str
    date: dt.date
    appointments: list[OfficeAppointment]


class FoundAppointments(Answer):
    office: str
    appointments: list[OfficeAppointment]


class DivorceCase(Answer):
    """No names and no ID numbers (docs/api.md §5.1)."""

    id: int
    status: DivorceCaseStatus = Field(description="cooling_off until certificate_until")
    accepted_on: dt.date
    cooling_off_ends: dt.date = Field(description="the last day a party may withdraw")
    certificate_from: dt.date = Field(description="the first day of step 2")
    certificate_until: dt.date = Field(description="the last day of step 2")


class DivorceCases(Answer):
    cases: list[DivorceCase] = Field(description="newest first")


class DivorceWithdrawn(Answer):
    id: int
    status: Literal["withdrawn"]
