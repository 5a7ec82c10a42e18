"""The rating tablets of an office: the link of each window's tablet page, and how many
ratings came in today."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import func, select

from core.auth import page_roles
from core.clock import local_today
from core.extensions import db
from feedback.models import Rating
from feedback.staff_pages.common import blueprint
from offices.models import Window
from offices.queries import staffed_office


@blueprint.get("/staff/feedback/<office>/tablets")
@page_roles("registrar", "desk")
def tablets(office: str):
    office_row = staffed_office(office, active_only=False)
    windows = db.session.scalars(
        select(Window).where(Window.office_id == office_row.id, Window.active.is_(True))
        .order_by(Window.position)).all()
    today = local_today(office_row.timezone)
    rated_today = db.session.scalar(
        select(func.count()).select_from(Rating).where(Rating.office_id == office_row.id,
                                                       Rating.date == today)) or 0
    return render_template("feedback/tablets.html", office=office_row, windows=windows,
                           rated_today=rated_today)
