"""The hall's part of the `retention-purge` job (scheduler.retention): a finished ticket
keeps its number, times and outcome for the statistics, but not the phone number and ID
hashes of its couple."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Text, cast, or_, update

from core.database import write_transaction
from core.extensions import db
from hallqueue.models import Ticket


def purge_tickets(cutoff: date) -> int:
    """Empty the phone number and ID hashes of finished tickets dated before `cutoff`."""
    with write_transaction():
        return db.session.execute(
            update(Ticket)
            .where(Ticket.date < cutoff, Ticket.status.in_(("completed", "no_show")),
                   or_(Ticket.phone != "", cast(Ticket.party_hashes, Text) != "[]"))
            .values(phone="", party_hashes=[])
            .execution_options(synchronize_session=False)).rowcount
