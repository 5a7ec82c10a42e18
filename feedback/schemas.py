"""The rating tablet's state and the statistics (docs/development.md "API schemas")."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field

from core.schemas import Absent, Answer, IsoDate, Query, Says, no_default
from feedback.stats import GROUPINGS
from hallqueue.models import REFUSAL_REASONS

Grouping = Literal[tuple(GROUPINGS)]  # type: ignore[valid-type]
Count = Annotated[int, Field(ge=0)]
RatingLevel = Literal["1", "2", "3", "4", "5"]


# --- the rating tablet (public) --------------------------------------------------------------

class TabletTicket(Answer):
    """Named by its number: a ticket's id is never given out publicly."""

    number: str = Field(description="e.g. J001")
    service: str


class TabletState(Answer):
    office: str
    window: str
    ticket: TabletTicket | None = Field(description="the ticket to rate now, if any")


# --- statistics (admin) ----------------------------------------------------------------------

class StatsQuery(Query):
    from_: IsoDate | Absent = Field(None, alias="from", json_schema_extra=no_default,
                                    description="first day (default: the 1st of this month)")
    to: IsoDate | Absent = Field(None, json_schema_extra=no_default, description=(
        "last day, not before from (default: today); at most STATS_MAX_DAYS days (a "
        "setting, 366 unless changed) from from to to"))
    group: Annotated[Grouping, Says("group must be one of " + ", ".join(GROUPINGS))] = Field(
        "office_service_date", description="the columns each row is grouped by")
    office: str | Absent = Field(None, json_schema_extra=no_default, description=(
        "an office's code (an office's own admin: only that office)"))
    service: str | Absent = Field(None, json_schema_extra=no_default,
                                  description="a service's code")


class Durations(Answer):
    count: Count
    mean_minutes: float | None
    p90_minutes: float | None


class Figures(Answer):
    booked: Count
    cancelled: Count
    no_shows: Count
    tickets: Count
    checked_in: Count
    walk_ins: Count
    missed: Count
    registered: Count
    refused: Count
    unserved: Count
    green: Count = Field(description="tickets of the green channel (绿色通道)")
    requeued: Count = Field(description="tickets requeued after a missed call (过号重排)")
    refusals: dict[Literal[REFUSAL_REASONS], Count]  # type: ignore[valid-type]
    wait: Durations
    service_time: Durations
    ratings: dict[RatingLevel, Count] = Field(description="ratings by level, 5 best")
    satisfaction_rate: float | None = Field(ge=0, le=1, description="levels 4 and 5 / all")


class StatsRow(Figures):
    date: dt.date | Absent = Field(None, json_schema_extra=no_default,
                                   description="when grouped by date")
    peak: str | None = Field(None, description="when grouped by date: the peak day's name")
    office: str | None = Field(None, description="when grouped by office")
    service: str | Absent = Field(None, json_schema_extra=no_default,
                                  description="when grouped by service")


class Stats(Answer):
    from_: dt.date = Field(alias="from")
    to: dt.date
    group: Grouping
    total: Figures
    rows: list[StatsRow]
