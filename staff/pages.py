"""Login, logout, the staff home page, the accounts page (lock, unlock, end sessions), and
the language switch."""


from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from core.auth import User, current_staff, forget_session, page_roles, start_session
from core.clock import to_local
from core.extensions import db, limiter
from core.i18n import LANG_COOKIE
from core.nav import staff_links
from core.requests import arg_next
from offices.models import Office
from offices.queries import offices_for
from staff import services
from staff.forms import LoginForm

blueprint = Blueprint("staff", __name__)


@blueprint.route("/staff/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def login():
    after_login = arg_next()  # read first: a CR/LF in it is a 400 before any sign-in
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        attempt = services.sign_in(form.username.data, form.password.data,
                                   request.remote_addr, "page")
        if attempt.result == "ok":
            start_session(attempt.user)
            return redirect(after_login or url_for("staff.home"))
        if attempt.result == "throttled":
            status = 429
            flash(_("登录失败次数过多，请 %(seconds)s 秒后再试。",
                    seconds=attempt.wait_seconds), "error")
        elif attempt.result == "locked":
            flash(_("此账号已被管理员锁定，请联系管理员解锁。"), "error")
        elif attempt.result == "inactive":
            flash(_("此账号已停用，请联系管理员。"), "error")
        elif attempt.wait_seconds:
            flash(_("用户名或密码错误；请 %(seconds)s 秒后再试。",
                    seconds=attempt.wait_seconds), "error")
        else:
            flash(_("用户名或密码错误。"), "error")
    return render_template("staff/login.html", form=form), status


@blueprint.post("/staff/logout")
@login_required
def logout():
    services.sign_out(current_user._get_current_object())
    forget_session()
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


# --- accounts (admin) ------------------------------------------------------------------------

@blueprint.get("/staff/users")
@page_roles()
def users():
    admin = current_staff()
    offices = {o.id: o for o in db.session.scalars(select(Office))}
    return render_template("staff/users.html", users=services.manageable_users(admin),
                           offices=offices, local_time=_local_time)


def _local_time(value) -> str:
    return to_local(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _managed_user(user_id: int) -> User:
    target = db.session.get(User, user_id)
    if target is None:
        abort(404)
    if not services.may_manage(current_staff(), target):
        abort(403)
    return target


def _account_action(user_id: int, action) -> object:
    """Run an admin's button (CSRFProtect has checked the form's token)."""
    target = _managed_user(user_id)
    admin = current_staff()
    ended_own = target.id == admin.id
    try:
        action(target, admin)
    except services.StaffError as error:
        if error.code == "self":
            flash(_("不能锁定自己的账号。"), "error")
            return redirect(url_for(".users"))
        raise
    if ended_own:  # the admin ended their own sessions: this one too
        forget_session()
        return redirect(url_for(".login"))
    return redirect(url_for(".users"))


@blueprint.post("/staff/users/<int:user_id>/lock")
@page_roles()
def lock_user(user_id: int):
    def lock(target: User, admin: User) -> None:
        if services.set_locked(target, True, admin):
            flash(_("已锁定 %(name)s：其登录会话和接口令牌已失效。", name=target.username),
                  "success")

    return _account_action(user_id, lock)


@blueprint.post("/staff/users/<int:user_id>/unlock")
@page_roles()
def unlock_user(user_id: int):
    def unlock(target: User, admin: User) -> None:
        if services.set_locked(target, False, admin):
            flash(_("已解锁 %(name)s。", name=target.username), "success")

    return _account_action(user_id, unlock)


@blueprint.post("/staff/users/<int:user_id>/end-sessions")
@page_roles()
def end_user_sessions(user_id: int):
    def end(target: User, admin: User) -> None:
        services.end_sessions(target, admin)
        flash(_("已结束 %(name)s 的全部登录会话和接口令牌。", name=target.username), "success")

    return _account_action(user_id, end)


@blueprint.get("/lang/<code>")
def switch_language(code: str):
    target = arg_next() or url_for("offices_pages.home")
    response = redirect(target)
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax")
    return response
