"""The `retention-purge` job: personal data is kept RETENTION_DAYS and then removed, while
the rows stay so that counts and statistics are unchanged. Each feature purges its own
tables; this job runs them with one cut-off and reports what each removed.

Idempotent: every part only touches rows that still hold data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app

from booking.retention import purge_appointments
from core.clock import local_today
from core.summaries import PERSONAL_DATA_PURGED, RunSummary
from feedback.retention import purge_suggestion_contacts
from hallqueue.retention import purge_tickets
from notify.retention import purge_messages


@dataclass
class PurgeReport:
    cutoff: date
    appointments: int = 0
    applicants: int = 0
    tickets: int = 0
    messages: int = 0
    suggestions: int = 0

    def summary(self) -> RunSummary:
        return PERSONAL_DATA_PURGED(appointments=self.appointments, applicants=self.applicants,
                                    tickets=self.tickets, messages=self.messages,
                                    suggestions=self.suggestions,
                                    cutoff=self.cutoff.isoformat())


def retention_cutoff() -> date:
    days = int(current_app.config.get("RETENTION_DAYS") or 0)
    if days <= 0:
        raise ValueError("RETENTION_DAYS must be a positive number of days")
    return local_today() - timedelta(days=days)


def retention_purge() -> PurgeReport:
    report = PurgeReport(cutoff=retention_cutoff())
    report.appointments, report.applicants = purge_appointments(report.cutoff)
    report.tickets = purge_tickets(report.cutoff)
    report.messages = purge_messages(report.cutoff)
    report.suggestions = purge_suggestion_contacts()
    return report


def retention_purge_job() -> RunSummary:
    """The `retention-purge` job (daily)."""
    return retention_purge().summary()
