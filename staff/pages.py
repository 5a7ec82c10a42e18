"""Login, logout, the staff home page, and the language switch."""

from urllib.parse import urlparse

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from core.extensions import limiter
from core.i18n import LANG_COOKIE
from core.nav import staff_links
from offices.queries import offices_for
from staff.forms import LoginForm
from staff.services import authenticate

blueprint = Blueprint("staff", __name__)


def _safe_next(target: str | None) -> str | None:
    if target and not urlparse(target).netloc and target.startswith("/"):
        return target
    return None


@blueprint.route("/staff/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("staff.home"))
        flash(_("用户名或密码错误；连续多次错误会暂时锁定账号。"), "error")
    return render_template("staff/login.html", form=form)


@blueprint.post("/staff/logout")
@login_required
def logout():
    logout_user()
    flash(_("已退出登录。"), "info")
    return redirect(url_for("staff.login"))


@blueprint.get("/staff/")
@login_required
def home():
    offices = offices_for(current_user)
    links = staff_links(current_app, current_user.role)
    return render_template("staff/home.html", offices=offices,
                           office_links=[link for link in links if link.per_office],
                           general_links=[link for link in links if not link.per_office])


@blueprint.get("/lang/<code>")
def switch_language(code: str):
    target = _safe_next(request.args.get("next")) or url_for("offices_pages.home")
    response = redirect(target)
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax")
    return response
