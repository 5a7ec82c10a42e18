"""The public home page: the offices, with links to booking and disclosure."""

from flask import Blueprint, redirect, render_template, url_for

from offices.queries import offices_for

blueprint = Blueprint("offices_pages", __name__)


@blueprint.get("/")
def home():
    return render_template("home.html", offices=offices_for())


@blueprint.get("/favicon.ico")
def favicon():
    return redirect(url_for("static", filename="favicon.svg"), code=301)
