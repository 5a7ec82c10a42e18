"""Who may book what: applicants' input, eligibility (docs/domain.md; the numbers are
configuration), the no-show policy and the online booking window."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import Date, bindparam, func, select

from booking.divorce import closed_reason, latest_case, open_case, party_hash
from booking.errors import BookingError, invalid, tr
from booking.identity import (
    Identity,
    IdentityError,
    age_on,
    clean_name,
    normalise_phone,
    parse_identity,
)
from booking.models import ACTIVE_STATUSES, Applicant, Appointment
from core.clock import local_datetime, time_of
from core.extensions import db
from core.privacy import keyed_hash

APPLICANT_FIELDS = ("name", "id_type", "id_number", "phone", "sex", "birth_date")


@dataclass(frozen=True)
class Person:
    """What eligibility needs to know about one applicant."""

    id_hash: str
    sex: str
    birth_date: date
    cross_border: bool


@dataclass(frozen=True)
class ApplicantInput:
    name: str
    identity: Identity
    phone: str

    @functools.cached_property  # read several times per booking; an HMAC each time
    def id_hash(self) -> str:
        return keyed_hash(self.identity.number)

    def person(self) -> Person:
        return Person(self.id_hash, self.identity.sex, self.identity.birth_date,
                      self.identity.cross_border)


def person_hash(id_number: str) -> str:
    """The keyed hash under which an applicant's ID number is stored (the same
    normalisation as at booking: spaces, case and brackets do not matter)."""
    return party_hash(id_number)


def check_count(raw: object, expected: int, fewest: int | None = None) -> list:
    """The applicants list, when it names `fewest` (default: `expected`) to `expected`
    people (counselling: one person or a couple)."""
    if not isinstance(raw, list):
        raise invalid(tr("applicants 必须是申请人列表。"), field="applicants")
    fewest = expected if fewest is None else fewest
    if not fewest <= len(raw) <= expected:
        if fewest == expected:
            detail = tr("此业务需要 %(n)s 位申请人，收到 %(got)s 位。", n=expected, got=len(raw))
        else:
            detail = tr("此业务需要 %(least)s 至 %(n)s 位申请人，收到 %(got)s 位。",
                        least=fewest, n=expected, got=len(raw))
        raise BookingError(422, "wrong_applicant_count", detail, field="applicants")
    return raw


def parse_applicants(raw: list, today: date, phone_optional: bool = False
                     ) -> tuple[list[ApplicantInput], list[BookingError]]:
    """Every applicant checked; all errors collected (a page shows each next to its field).
    `phone_optional`: staff booking for people without a mobile (a printed confirmation
    replaces the SMS); a phone that is given must still be a valid one."""
    region = current_app.config.get("DEFAULT_PHONE_REGION", "+86")

    def phone(value: object) -> str:
        if phone_optional and (value is None or (isinstance(value, str) and not value.strip())):
            return ""
        return normalise_phone(value, region)

    parsed: list[ApplicantInput] = []
    errors: list[BookingError] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            errors.append(invalid(tr("每位申请人应为一个对象。"), index))
            continue
        before = len(errors)
        values = {}
        for field, parse in (("name", clean_name), ("phone", phone)):
            try:
                values[field] = parse(item.get(field))
            except IdentityError as error:
                errors.append(BookingError(422, error.code, tr(str(error)), index, error.field))
        try:
            values["identity"] = parse_identity(item.get("id_type"), item.get("id_number"),
                                                item.get("sex"), item.get("birth_date"), today)
        except IdentityError as error:
            errors.append(BookingError(422, error.code, tr(str(error)), index, error.field))
        if len(errors) == before:
            parsed.append(ApplicantInput(**values))
    if not errors and len({a.id_hash for a in parsed}) != len(parsed):
        errors.append(invalid(tr("两位申请人的证件号码相同，请核对。"), len(parsed) - 1,
                              "id_number"))
    return parsed, errors


def first_error(errors: list[BookingError]) -> BookingError:
    """The error an API client gets: an ID problem first (its own code), then the rest."""
    for error in errors:
        if error.code == "invalid_id_number":
            return error
    return errors[0]


# --- eligibility ---------------------------------------------------------------------------

def _sex_word(sex: str) -> str:
    return tr("男方") if sex == "M" else tr("女方")


def check_eligibility(office, service_code: str, people: list[Person], day: date) -> None:
    """Raise BookingError 422 (not_eligible, under_age, cooling_off, no_divorce_application)
    when these people may not be served for `service_code` at `office` on `day`."""
    config = current_app.config
    if service_code == "marriage" and all(p.cross_border for p in people):
        raise BookingError(422, "not_eligible", tr(
            "结婚登记须至少一方为内地居民（持内地居民身份证）；双方均为外国人或港澳台居民的，"
            "请向所在国家或地区的有关机关咨询。"))
    if any(p.cross_border for p in people) and not office.accepts_cross_border:
        raise BookingError(422, "not_eligible", tr(
            "本登记处不办理涉外及港澳台居民的婚姻登记，请选择可办理的登记处。"))
    if service_code == "marriage":
        if config["MARRIAGE_REQUIRES_OPPOSITE_SEX"] and sorted(p.sex for p in people) != ["F",
                                                                                         "M"]:
            raise BookingError(422, "not_eligible", tr("结婚登记须由一男一女双方共同申请。"))
        minimum = config["MARRIAGE_MIN_AGE"]
        for index, person in enumerate(people):
            needed = int(minimum[person.sex])
            if age_on(person.birth_date, day) < needed:
                reached = _birthday(person.birth_date, needed)
                raise BookingError(422, "under_age", tr(
                    "%(who)s在登记日 %(day)s 未满法定婚龄 %(age)s 周岁（%(reached)s 起可以登记）。",
                    who=_sex_word(person.sex), day=day.isoformat(), age=needed,
                    reached=reached.isoformat()), index, "birth_date")
    elif service_code == "divorce":
        case = open_case([p.id_hash for p in people], day)
        if case is not None:
            raise BookingError(422, "not_eligible", tr(
                "双方已有受理中的离婚登记申请（冷静期至 %(end)s），请在 %(start)s 至 %(until)s "
                "期间预约领取离婚证。", end=case.cooling_off_ends.isoformat(),
                start=case.step2_from.isoformat(), until=case.step2_until.isoformat()))
    elif service_code == "divorce-certificate":
        check_step2(office, people, day)
    elif service_code == "ceremony":
        check_ceremony(office, people, day)


def check_ceremony(office, people: list[Person], day: date) -> None:
    """颁证仪式 follows the couple's registration: both must hold one active `marriage`
    appointment together at this office on this day (docs/domain.md §2)."""
    hashes = sorted({p.id_hash for p in people})
    together = db.session.scalar(
        select(Applicant.appointment_id)
        .join(Appointment, Applicant.appointment_id == Appointment.id)
        .where(Applicant.id_hash.in_(hashes), Applicant.service_code == "marriage",
               Appointment.office_id == office.id, Appointment.date == day,
               Appointment.status.in_(ACTIVE_STATUSES))
        .group_by(Applicant.appointment_id)
        .having(func.count(func.distinct(Applicant.id_hash)) == len(hashes))
        .limit(1))
    if len(hashes) != 2 or together is None:
        raise BookingError(422, "not_eligible", tr(
            "颁证仪式只为当天在本登记处预约结婚登记的新人安排：请先预约同一天的结婚登记，"
            "再用相同的双方证件号码预约颁证仪式。"))


def check_step2(office, people: list[Person], day: date) -> None:
    """Step 2 needs the couple's open case, at this office, and `day` inside its window;
    a closed case says how it ended (withdrawn, certified, lapsed)."""
    hashes = [p.id_hash for p in people]
    case = open_case(hashes)
    if case is None:
        closed = latest_case(hashes)
        if closed is not None:
            raise BookingError(422, "no_divorce_application", closed_reason(closed, day))
        raise BookingError(422, "no_divorce_application", tr(
            "没有找到双方在冷静期内的离婚登记申请：请先预约“离婚登记申请”。"))
    if case.office_id != office.id:
        from offices.models import Office

        accepted_at = db.session.get(Office, case.office_id)
        raise BookingError(422, "no_divorce_application", tr(
            "离婚证须到受理离婚登记申请的%(office)s办理。",
            office=accepted_at.name if accepted_at else ""))
    if day > case.step2_until:
        raise BookingError(422, "cooling_off", tr(
            "领取离婚证的期限已于 %(until)s 届满，离婚登记申请视为撤回；如仍要离婚，请重新申请。",
            until=case.step2_until.isoformat()), field="date")
    if not case.step2_from <= day <= case.step2_until:
        raise BookingError(422, "cooling_off", tr(
            "离婚冷静期至 %(end)s 届满；请在 %(start)s 至 %(until)s 期间预约领取离婚证。",
            end=case.cooling_off_ends.isoformat(), start=case.step2_from.isoformat(),
            until=case.step2_until.isoformat()), field="date")


def _birthday(birth: date, years: int) -> date:
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:  # 29 February: reached on 1 March
        return date(birth.year + years, 3, 1)


# --- no-shows ------------------------------------------------------------------------------

def no_show_horizon(today: date) -> date:
    """The earliest no-show that can still block a booking made `today`."""
    config = current_app.config
    return (today - timedelta(days=int(config["NO_SHOW_BLOCK_DAYS"]))
            - timedelta(days=int(config["NO_SHOW_WINDOW_DAYS"])))


def no_show_block_until(id_hashes: list[str], today: date,
                        no_show_days: dict[str, list[date]] | None = None) -> date | None:
    """The last day on which these people may not book, or None. NO_SHOW_LIMIT no-shows
    within NO_SHOW_WINDOW_DAYS block new bookings for NO_SHOW_BLOCK_DAYS after the no-show
    that reached the limit. `no_show_days` (each person's no-show days since
    `no_show_horizon(today)`) spares the query when the caller has them already."""
    config = current_app.config
    limit = int(config["NO_SHOW_LIMIT"])
    window = timedelta(days=int(config["NO_SHOW_WINDOW_DAYS"]))
    block = timedelta(days=int(config["NO_SHOW_BLOCK_DAYS"]))
    if limit <= 0:
        return None
    if no_show_days is None:
        no_show_days = no_show_days_of(id_hashes, today)
    blocked: date | None = None
    for id_hash in set(id_hashes):
        days = sorted(no_show_days.get(id_hash, ()))
        for i in range(limit - 1, len(days)):
            if days[i] - days[i - limit + 1] <= window:
                until = days[i] + block
                if until >= today and (blocked is None or until > blocked):
                    blocked = until
    return blocked


@functools.cache
def no_show_days_query():
    """SELECT (id_hash, date) of the no-shows since :horizon (`no_show_horizon(today)`) of
    the people whose hashes are :hashes (a list). Built once: SQLAlchemy caches its SQL."""
    return (select(Applicant.id_hash, Appointment.date)
            .join(Appointment, Applicant.appointment_id == Appointment.id)
            .where(Applicant.id_hash.in_(bindparam("hashes", expanding=True)),
                   Appointment.status == "no_show",
                   Appointment.date >= bindparam("horizon", type_=Date)))


def no_show_days_of(id_hashes: list[str], today: date) -> dict[str, list[date]]:
    """Each person's no-show days that can still block (one query for everybody)."""
    found: dict[str, list[date]] = {}
    for id_hash, day in db.session.execute(no_show_days_query(), {
            "hashes": sorted(set(id_hashes)), "horizon": no_show_horizon(today)}):
        found.setdefault(id_hash, []).append(day)
    return found


def check_no_show_block(id_hashes: list[str], today: date,
                        no_show_days: dict[str, list[date]] | None = None) -> None:
    until = no_show_block_until(id_hashes, today, no_show_days)
    if until is not None:
        config = current_app.config
        raise BookingError(422, "not_eligible", tr(
            "%(days)s 天内有 %(limit)s 次预约未到，%(until)s 前（含当天）暂停网上预约；"
            "可到登记处现场取号办理。", days=config["NO_SHOW_WINDOW_DAYS"],
            limit=config["NO_SHOW_LIMIT"], until=until.isoformat()))


# --- the online booking window -------------------------------------------------------------

@dataclass(frozen=True)
class BookingWindow:
    first: date  # the first day bookable now
    last: date  # the last day bookable now
    now: datetime  # office-local now


def booking_window(office, now_local: datetime) -> BookingWindow:
    """Days bookable online now: from the minimum notice (a day's bookings close at
    BOOKING_CLOSES_AT, BOOKING_MIN_NOTICE_DAYS before it; default the day before) up to
    `booking_days_ahead`, whose newest day opens at BOOKING_RELEASE_AT. Never today."""
    config = current_app.config
    today = now_local.date()
    notice = int(config.get("BOOKING_MIN_NOTICE_DAYS", 1))
    first = today + timedelta(days=notice)
    if now_local.time() >= time_of(config["BOOKING_CLOSES_AT"]):
        first += timedelta(days=1)
    first = max(first, today + timedelta(days=1))
    last = today + timedelta(days=int(office.booking_days_ahead))
    if now_local.time() < time_of(config["BOOKING_RELEASE_AT"]):
        last -= timedelta(days=1)
    return BookingWindow(first, last, now_local)


def not_bookable_reason(office, window: BookingWindow, day: date) -> str | None:
    """Why `day` cannot be booked online now, or None."""
    config = current_app.config
    today = window.now.date()
    if day <= today:
        return tr("当天及以前的日期不能网上预约，请到登记处现场取号。")
    if day < window.first:
        closes = day - timedelta(days=int(config.get("BOOKING_MIN_NOTICE_DAYS", 1)))
        return tr("%(day)s 的网上预约已于 %(closes_on)s %(at)s 截止。", day=day.isoformat(),
                  closes_on=closes.isoformat(), at=config["BOOKING_CLOSES_AT"])
    if day > window.last:
        return tr("目前可预约到 %(last)s；更晚的日期每天 %(at)s 起逐日放号。",
                  last=window.last.isoformat(), at=config["BOOKING_RELEASE_AT"])
    return None


def slot_started(office, day: date, start: str, now_local: datetime) -> bool:
    return local_datetime(day, start, office.timezone) <= now_local

