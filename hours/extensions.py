"""延时服务 as the calendar records it: a DayExtension row moves an office's closing time for
one day, and day_plan() folds it into the day's final hours (and so into the hall display
and ticket issuing). Extensions are never taken back. The hall decides when a day must be
extended (hallqueue.extensions) and records it here.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite

from core.extensions import db
from hours.models import DayExtension

LATEST_CLOSE = 23 * 60 + 59  # an extension never runs past midnight


def next_closing(close_minutes: int, now_minutes: int, step: int) -> int:
    """The first multiple of `step` past the closing time that lies after now (the closing
    time plus one step when the job runs on time; more when it ran late)."""
    steps = (now_minutes - close_minutes) // step + 1
    return min(close_minutes + steps * step, LATEST_CLOSE)


def record_extension(office_id: int, day, previous_close: str, until: str,
                     waiting_count: int) -> bool:
    """Record that `day` now closes at `until`; False when this very extension exists already.

    INSERT … ON CONFLICT DO NOTHING RETURNING id on (office, date, until): a row comes back
    only when inserted (rowcount is not reliable here: psycopg reports -1 for a statement
    with RETURNING), so of two concurrent runs exactly one sees True."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    table = DayExtension.__table__
    values = {"office_id": office_id, "date": day, "previous_close": previous_close,
              "until": until, "waiting_count": waiting_count}
    return db.session.execute(
        dialect.insert(table).values(**values)
        .on_conflict_do_nothing(index_elements=["office_id", "date", "until"])
        .returning(table.c.id)).first() is not None
