"""Personal data this feature keeps, and its removal after RETENTION_DAYS: the name and
phone number a suggestion's sender gave (kept while the suggestion is open, for the
reply). Ratings keep no personal data; their comments stay as the record of the service."""

from datetime import timedelta

from flask import current_app
from sqlalchemy import update

from core.clock import utcnow
from core.database import write_transaction
from core.extensions import db
from feedback.models import Suggestion


def purge_suggestion_contacts(now=None) -> int:
    """Blank the name and phone of suggestions closed or answered more than RETENTION_DAYS
    ago; returns how many were changed. Running it twice changes nothing more."""
    cutoff = (now or utcnow()) - timedelta(days=int(current_app.config["RETENTION_DAYS"]))
    with write_transaction():
        result = db.session.execute(
            update(Suggestion)
            .where(Suggestion.status.in_(("replied", "closed")), Suggestion.updated_at < cutoff,
                   (Suggestion.name != "") | (Suggestion.phone != ""))
            .values(name="", phone="")
            .execution_options(synchronize_session=False))
    return result.rowcount or 0
