"""The pairing page of an office's rating tablets (admins and the office's desk staff):
pair this browser with a window, list the paired tablets, unpair one (feedback.tablets)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from core.auth import User, current_staff, forget_session, page_roles
from core.clock import to_local
from core.database import write_transaction
from core.extensions import db
from feedback import tablets
from offices.models import Office, Window
from offices.queries import staffed_office
from staff.services import sign_out

blueprint = Blueprint("feedback_tablets", __name__)


def _windows(office: Office) -> list[Window]:
    return list(db.session.scalars(select(Window).where(
        Window.office_id == office.id, Window.active.is_(True)).order_by(Window.position)))


@blueprint.get("/staff/tablets/<office>")
@page_roles("desk")
def pairing(office: str):
    office_row = staffed_office(office)
    paired = tablets.tablets_of(office_row)
    by_window: dict[int, list] = {}
    for tablet in paired:
        by_window.setdefault(tablet.window_id, []).append(tablet)
    people = {u.id: u for u in db.session.scalars(select(User).where(
        User.id.in_({t.paired_by_id for t in paired if t.paired_by_id})))}
    here = tablets.this_tablet()
    return render_template("feedback/tablet_pairing.html", office=office_row,
                           windows=_windows(office_row), by_window=by_window, people=people,
                           here=here.id if here is not None else None,
                           local_time=lambda value: to_local(value, office_row.timezone)
                           .strftime("%Y-%m-%d %H:%M"))


@blueprint.post("/staff/tablets/<office>/pair")
@page_roles("desk")
def pair(office: str):
    """Pair this browser with a window; the staff member is signed out here (as by 退出),
    so that the tablet in the hall holds no staff session."""
    office_row = staffed_office(office)
    number = (request.form.get("window") or "").strip()
    window = next((w for w in _windows(office_row) if w.number == number), None)
    if window is None:
        flash(_("请选择要配对的窗口。"), "error")
        return redirect(url_for(".pairing", office=office))
    user = current_staff()
    with write_transaction():
        token = tablets.pair(office_row, window, user, tablets.request_token())
    sign_out(user)
    forget_session()
    flash(_("本设备已配对为 %(number)s 号窗口的评价平板；您已在此退出登录。", number=window.number),
          "success")
    response = redirect(url_for("feedback_public.tablet", office=office_row.code,
                                window=window.number))
    tablets.set_cookie(response, token)
    return response


@blueprint.post("/staff/tablets/<office>/unpair")
@page_roles("desk")
def unpair(office: str):
    office_row = staffed_office(office)
    try:
        tablet_id = int(request.form.get("tablet") or "")
    except ValueError:
        tablet_id = 0
    here = tablets.this_tablet()
    here_id = here.id if here is not None else None
    with write_transaction():
        done = tablets.unpair(office_row, tablet_id, current_staff())
    if done:
        flash(_("已取消配对：该设备不能再提交评价。"), "success")
    else:
        flash(_("没有这台评价平板。"), "error")
    response = redirect(url_for(".pairing", office=office))
    if done and here_id == tablet_id:
        response.delete_cookie(tablets.COOKIE, path="/")
    return response
