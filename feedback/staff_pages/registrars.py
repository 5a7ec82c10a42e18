"""Registrars' public profiles (登记员公示): photo, staff number and whether on duty, shown
on each office's disclosure page."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core.auth import User, current_staff, page_roles
from core.database import write_transaction
from core.extensions import db
from feedback import disclosure
from feedback.disclosure import PhotoError
from feedback.forms import RegistrarForm
from feedback.settings import setting
from feedback.staff_pages.common import blueprint
from offices.queries import offices_for, require_scope


@blueprint.get("/staff/registrars")
@page_roles()
def registrar_list():
    user = current_staff()
    offices = offices_for(user, active_only=False)
    return render_template("feedback/registrars.html",
                           groups=[(o, disclosure.registrars(o, on_duty_only=False))
                                   for o in offices],
                           form=RegistrarForm(), max_kb=int(setting("REGISTRAR_PHOTO_MAX_BYTES"))
                           // 1024)


@blueprint.post("/staff/registrars/<int:user_id>")
@page_roles()
def registrar_update(user_id: int):
    admin = current_staff()
    registrar = db.session.get(User, user_id)
    if registrar is None or registrar.role != "registrar":
        abort(404)
    require_scope(registrar.office_id)
    form = RegistrarForm()
    if not form.validate_on_submit():
        flash(_("请检查填写的内容：工号不超过 32 个字符。"), "error")
        return redirect(url_for(".registrar_list"))
    try:
        with write_transaction():
            disclosure.update_profile(registrar, admin, form.staff_number.data or "",
                                      bool(form.on_duty.data))
            upload = request.files.get("photo")
            if upload is not None and upload.filename:
                disclosure.save_photo(registrar, upload, admin)
    except PhotoError as error:
        flash(str(error), "error")
    else:
        flash(_("已保存 %(name)s 的公示信息。", name=registrar.display_name or registrar.username),
              "success")
    return redirect(url_for(".registrar_list"))
