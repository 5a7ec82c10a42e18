"""GET /offices/{office}/calendar (docs/development.md "API schemas")."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from core.schemas import HHMM, Absent, Answer, IsoDate, Query, WholeNumber, no_default

MAX_DAYS = 366
DEFAULT_DAYS = 30
DayKind = Literal["workday", "weekend", "holiday", "makeup_workday"]


class CalendarQuery(Query):
    from_: IsoDate | Absent = Field(
        None, alias="from", json_schema_extra=no_default,
        description="the first day (default: today in the office's time zone)")
    days: WholeNumber = Field(DEFAULT_DAYS, ge=1, le=MAX_DAYS, description="how many days")


class Period(Answer):
    start: HHMM
    end: HHMM


class PeakDay(Answer):
    code: str
    name: str
    name_en: str


class CalendarDay(Answer):
    date: dt.date
    kind: DayKind
    estimated: bool = Field(description="the state calendar for that year is only an estimate")
    open: bool
    hours: list[Period]
    peak: PeakDay | None
    extended: bool = Field(description="longer hours than the office's usual for the weekday")


class Calendar(Answer):
    office: str
    days: list[CalendarDay]
