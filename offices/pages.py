"""The public home page: the offices, with links to booking and disclosure."""

from flask import Blueprint, redirect, render_template, url_for
from sqlalchemy import select

from core.extensions import db
from offices.models import Office

blueprint = Blueprint("offices_pages", __name__)


@blueprint.get("/")
def home():
    offices = db.session.scalars(
        select(Office).where(Office.active.is_(True)).order_by(Office.id)).all()
    return render_template("home.html", offices=offices)


@blueprint.get("/favicon.ico")
def favicon():
    return redirect(url_for("static", filename="favicon.svg"), code=301)
