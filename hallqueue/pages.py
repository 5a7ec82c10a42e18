"""The hall's pages: front desk, kiosk, window chooser and window, hall display, the printed
ticket and the public ticket status page. Each view parses input, calls one service function
and renders; errors from the services become a flash message that says what to do."""

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from core.audit import record_view
from core.auth import Role, current_staff, page_roles
from core.clock import to_local
from core.errors import ApiError
from core.extensions import db
from core.i18n import N_, list_sep, localized
from core.privacy import decrypt, mask_phone
from core.qr import qr_svg
from core.requests import form_id
from hallqueue import calling
from hallqueue.common import (
    issuing_hours,
    office_today,
    services_by_code,
    ticket_by_token,
    window_by_number,
)
from hallqueue.display import display_state, spoken_text, ticket_status
from hallqueue.models import REFUSAL_REASONS, Ticket
from hallqueue.ordering import people_ahead, waiting_in_order
from hallqueue.tickets import TicketRequest, find_for_checkin, issue_ticket
from offices.models import Office, Window
from offices.queries import in_scope, office_or_404, row_at_office, staffed_office

blueprint = Blueprint("hallqueue_pages", __name__)

# Message ids (N_): translated where they are shown.
GREEN_CHANNEL_REASONS = (N_("老年人"), N_("孕妇"), N_("残疾人"), N_("军人"))
REFUSAL_LABELS = {
    "under_age": N_("未达法定婚龄"),
    "not_present": N_("当事人未亲自到场"),
    "documents_incomplete": N_("证件材料不齐全或不符"),
    "no_civil_capacity": N_("当事人不具有完全民事行为能力"),
    "not_voluntary": N_("非双方自愿"),
    "already_married": N_("已有配偶"),
    "prohibited_kinship": N_("直系血亲或三代以内旁系血亲"),
}
STATUS_LABELS = {"waiting": N_("等候中"), "called": N_("请到窗口办理"),
                 "completed": N_("已办结"), "no_show": N_("过号")}
ID_TYPE_LABELS = {
    "resident_id": N_("居民身份证"), "foreign_permanent_resident": N_("外国人永久居留身份证"),
    "hk_macau_permit": N_("港澳居民来往内地通行证"),
    "taiwan_permit": N_("台湾居民来往大陆通行证"), "passport": N_("护照"),
}


def green_reasons() -> str:
    """Who may use the green channel, as one phrase: "老年人、孕妇、残疾人、军人"."""
    return list_sep().join(_(reason) for reason in GREEN_CHANNEL_REASONS)


def service_names(office: Office) -> dict[str, str]:
    """The office's services by code, named in the request's language."""
    return {s.code: localized(s, "name") for s in _service_options(office)}


def error_message(error: ApiError, office: Office | None = None) -> str:
    """What a person at the desk, kiosk or window should read for an error."""
    messages = {
        "appointment_not_found": _("未找到该预约，请核对预约码或证件号码。"),
        "already_checked_in": _("该预约已经取号，请勿重复取号。"),
        "wrong_day": _("该预约不是今天的，请按预约日期前来办理。"),
        "wrong_office": _("该预约不在本登记处办理，请到预约的登记处取号。"),
        "applicants_not_present": _("需要全部当事人本人到场：请扫描或输入每位当事人的证件号码（不到场不办）。"),
        "invalid_id_number": _("证件号码不正确，请逐位核对。"),
        "already_has_ticket": _("该当事人今天已取过此项业务的号，请留意叫号。"),
        "appointment_not_active": _("该预约已取消或已失效，不能取号；可现场取号或重新预约。"),
        "window_paused": _("本窗口已暂停叫号，请先恢复。"),
        "window_closed": _("本窗口为备用窗口，仅在高峰日开放。"),
        "ticket_not_called": _("该号码不在呼叫中，无法进行此操作。"),
        "ticket_not_missed": _("该号码不是过号状态，无需重新排队。"),
    }
    if error.code == "office_closed" and office is not None:
        return closed_message(office)
    return messages.get(error.code) or _("操作未完成：%(detail)s", detail=error.detail)


def closed_message(office: Office) -> str:
    hours = issuing_hours(office)
    if not hours.open_today:
        return _("今天不办公，不能取号。请在办公日前来，或网上预约。")
    return _("现在不是取号时间。今天的取号时间为 %(start)s 至 %(end)s。",
             start=hours.start, end=hours.end)


def _no_office(code: str) -> str:
    """What the hall's pages say for an unknown office code (the API's words)."""
    return f"No office {code!r}."


def _present_from_form() -> tuple[str, ...]:
    return tuple(value for value in request.form.getlist("present") if value.strip())


def _service_options(office: Office) -> list:
    services = services_by_code()
    return [services[code] for code in office.service_codes if code in services]


def _applicant_rows(appointment, full_ids: bool) -> list[dict]:
    rows = []
    for applicant in appointment.applicants:
        number = ""
        if full_ids and applicant.id_number_enc:
            try:
                number = decrypt(applicant.id_number_enc)
            except Exception:  # a key that was removed: show the masked form instead
                number = ""
        id_type = applicant.id_type
        rows.append({"name": applicant.name,
                     "id_type": _(ID_TYPE_LABELS[id_type]) if id_type in ID_TYPE_LABELS
                     else id_type,
                     "id_number": number or applicant.id_masked,
                     "id_masked": applicant.id_masked, "sex": applicant.sex,
                     "phone": mask_phone(applicant.phone) if applicant.phone else ""})
    return rows


def _lookup_appointment(office: Office, query: str):
    """The appointment for the desk's preview (within the staff member's office scope), or
    a flash message."""
    try:
        return find_for_checkin(office, current_staff(), query)
    except ApiError as error:
        flash(error_message(error, office), "error")
        return None


def _recent_tickets(office: Office, limit: int = 20) -> list[Ticket]:
    return db.session.scalars(
        select(Ticket).where(Ticket.office_id == office.id, Ticket.date == office_today(office))
        .order_by(Ticket.id.desc()).limit(limit)).all()


# --- front desk ---------------------------------------------------------------------------

def _by_code(text: str | None):
    """The appointment whose code `text` is, or None; None too for another office's to
    staff bound to an office (docs/api.md §3.4). A desk URL carries an appointment code
    only, and only codes are looked up from one: never an ID number."""
    from booking.queries import appointment_by_code

    text = (text or "").strip()[:64]
    found = appointment_by_code(text) if text else None
    return found if found is not None and in_scope(found.office_id) else None


def _render_desk(office: Office, query: str = "", appointment=None):
    page = render_template(
        "hallqueue/desk.html", office=office, query=query, appointment=appointment,
        applicants=_applicant_rows(appointment, full_ids=True) if appointment else [],
        services=_service_options(office), hours=issuing_hours(office),
        green_reasons=green_reasons(), recent=_recent_tickets(office),
        service_names=service_names(office),
        status_labels=STATUS_LABELS)
    if appointment is not None:  # full names and ID numbers: audited
        record_view(current_staff(), "appointment.view", f"appointment:{appointment.code}",
                    appointment.office_id, page="desk", at_office=office.code)
    return page


@blueprint.get("/desk/<office>")
@page_roles(Role.DESK)
def desk(office: str):
    """The desk; `?code=` opens an appointment by its code (where a look-up leads)."""
    office = staffed_office(office, not_found=_no_office(office))
    if "q" in request.args:  # an old link: a code still opens, an ID number is not looked up
        found = _by_code(request.args.get("q"))
        if found is None:
            flash(_("请在查找框中输入或扫描：网址中只能带预约码，不能带证件号码。"), "error")
        return redirect(url_for(".desk", office=office.code,
                                code=found.code if found else None))
    code = (request.args.get("code") or "").strip()
    appointment = _by_code(code) if code else None
    if code and appointment is None:  # the page's own links would repeat what the URL has
        flash(error_message(ApiError(404, "appointment_not_found", ""), office), "error")
        return redirect(url_for(".desk", office=office.code))
    return _render_desk(office, query=appointment.code if appointment else "",
                        appointment=appointment)


@blueprint.post("/desk/<office>")
@page_roles(Role.DESK)
def desk_lookup(office: str):
    """The look-up form (a POST, so that a typed or scanned ID number stays out of URLs,
    access logs and browser history): found, it leads to `?code=<appointment code>`; not
    found, the desk page again with the message and what was typed."""
    office = staffed_office(office, not_found=_no_office(office))
    query = (request.form.get("q") or "").strip()[:64]
    if not query:
        flash(_("请扫描预约二维码，或输入预约码 / 当事人证件号码。"), "error")
        return redirect(url_for(".desk", office=office.code), 303)
    appointment = _lookup_appointment(office, query)
    if appointment is None:
        return _render_desk(office, query=query)
    return redirect(url_for(".desk", office=office.code, code=appointment.code), 303)


def _issue_from_form(office: Office, source: str):
    form = request.form
    phone = (form.get("phone") or "").strip()
    if phone:
        from booking.identity import IdentityError, normalise_phone

        try:
            phone = normalise_phone(phone)
        except IdentityError as error:
            flash(_(str(error)), "error")
            return None
    ticket_request = TicketRequest(
        appointment=(form.get("appointment") or "").strip() or None,
        service=(form.get("service") or "").strip() or None,
        present=_present_from_form(),
        green_channel=form.get("priority") == "green" or form.get("green_channel") == "1",
        phone=phone, source=source)
    if bool(ticket_request.appointment) == bool(ticket_request.service):
        flash(_("请先核验预约，或选择现场取号的业务。"), "error")
        return None
    try:
        return issue_ticket(office, current_staff(), ticket_request)
    except ApiError as error:
        flash(error_message(error, office), "error")
        return None


@blueprint.post("/desk/<office>/tickets")
@page_roles(Role.DESK)
def desk_issue(office: str):
    office = staffed_office(office, not_found=_no_office(office))
    ticket = _issue_from_form(office, "desk")
    if ticket is None:
        found = _by_code(request.form.get("appointment"))
        return redirect(url_for(".desk", office=office.code,
                                code=found.code if found else None))
    flash(_("已取号 %(number)s。", number=ticket.number), "success")
    return redirect(url_for(".print_ticket", office=office.code, ticket_id=ticket.id))


@blueprint.post("/desk/<office>/tickets/<int:ticket_id>/requeue")
@page_roles(Role.DESK)
def desk_requeue(office: str, ticket_id: int):
    """过号重排: a missed ticket waits again."""
    office = staffed_office(office, not_found=_no_office(office))
    ticket = row_at_office(db.session.get(Ticket, ticket_id), office)
    _requeue_and_say(office, ticket)
    return redirect(url_for(".desk", office=office.code), 303)


def _requeue_and_say(office: Office, ticket: Ticket) -> None:
    try:
        calling.requeue(office, ticket, current_staff())
    except ApiError as error:
        flash(error_message(error, office), "error")
        return
    flash(_("%(number)s 已重新排队，前面还有 %(ahead)s 人。", number=ticket.number,
            ahead=people_ahead(ticket)), "success")


@blueprint.get("/desk/<office>/tickets/<int:ticket_id>/print")
@page_roles(Role.DESK)
def print_ticket(office: str, ticket_id: int):
    office = staffed_office(office, not_found=_no_office(office))
    ticket = row_at_office(db.session.get(Ticket, ticket_id), office)
    return render_template("hallqueue/print.html", office=office, ticket=ticket,
                           **_receipt(office, ticket), back=url_for(".desk",
                                                                    office=office.code))


def _receipt(office: Office, ticket: Ticket) -> dict:
    service = services_by_code()[ticket.service_code]
    return {"service_name": localized(service, "name"), "ahead": people_ahead(ticket),
            "issued_local": to_local(ticket.issued_at, office.timezone),
            "status_url": status_url(ticket)}


def status_url(ticket: Ticket) -> str:
    base = (current_app.config.get("PUBLIC_BASE_URL") or request.host_url).rstrip("/")
    return base + url_for("hallqueue_pages.ticket_page", token=ticket.token)


# --- kiosk --------------------------------------------------------------------------------

@blueprint.route("/kiosk/<office>", methods=["GET", "POST"])
@page_roles(Role.DESK)
def kiosk(office: str):
    office = staffed_office(office, not_found=_no_office(office))
    hours = issuing_hours(office)
    ticket = None
    if request.method == "POST":
        ticket = _issue_from_form(office, "kiosk")
        if ticket is None:
            return redirect(url_for(".kiosk", office=office.code))
        return render_template("hallqueue/kiosk_ticket.html", office=office, ticket=ticket,
                               **_receipt(office, ticket),
                               back=url_for(".kiosk", office=office.code))
    services = _service_options(office)
    return render_template("hallqueue/kiosk.html", office=office, hours=hours,
                           closed=None if hours.is_open_now else closed_message(office),
                           services=services, green_reasons=green_reasons())


# --- windows ------------------------------------------------------------------------------

@blueprint.get("/window/<office>")
@page_roles(Role.REGISTRAR)
def window_chooser(office: str):
    office = staffed_office(office, not_found=_no_office(office))
    windows = [w for w in office.windows if w.active]
    return render_template("hallqueue/window_chooser.html", office=office, windows=windows,
                           service_names=service_names(office))


def _window_tickets(office: Office, window: Window) -> list[Ticket]:
    return db.session.scalars(
        select(Ticket).where(Ticket.office_id == office.id, Ticket.window_id == window.id,
                             Ticket.status == "called", Ticket.date == office_today(office))
        .order_by(Ticket.called_at.desc(), Ticket.id.desc())).all()


def _ticket_appointment(ticket: Ticket):
    if ticket.appointment_id is None:
        return None
    from booking.models import Appointment

    return db.session.get(Appointment, ticket.appointment_id)


@blueprint.get("/window/<office>/<window_number>")
@page_roles(Role.REGISTRAR)
def window_page(office: str, window_number: str):
    office = staffed_office(office, not_found=_no_office(office))
    window = window_by_number(office, window_number)
    current = _window_tickets(office, window)
    services = service_names(office)
    day = office_today(office)
    upcoming = {code: waiting_in_order(office.id, day, code, 5)
                for code in window.services or [] if code in services}
    appointments = {t.id: _ticket_appointment(t) for t in current}
    people = {t.id: _applicant_rows(appointments[t.id], full_ids=False)
              if appointments[t.id] else [] for t in current}
    shown = [t for t in current if people[t.id]]
    audit = {"tickets": [t.number for t in shown],  # what was shown, by number and code
             "appointments": [appointments[t.id].code for t in shown]} if shown else None
    missed = db.session.scalars(
        select(Ticket).where(Ticket.office_id == office.id, Ticket.date == day,
                             Ticket.status == "no_show",
                             Ticket.service_code.in_(list(window.services or [])))
        .order_by(Ticket.completed_at.desc(), Ticket.id.desc()).limit(10)).all()
    page = render_template(
        "hallqueue/window.html", office=office, window=window, current=current, missed=missed,
        people=people, services=services,
        upcoming=upcoming, refusal_labels=REFUSAL_LABELS, refusal_reasons=REFUSAL_REASONS,
        other_windows=[w for w in office.windows if w.active and w.id != window.id])
    if audit is not None:  # the applicants' full names: audited
        record_view(current_staff(), "ticket.view", f"window:{office.code}:{window.number}",
                    office.id, **audit)
    return page


@blueprint.post("/window/<office>/<window_number>")
@page_roles(Role.REGISTRAR)
def window_action(office: str, window_number: str):
    office = staffed_office(office, not_found=_no_office(office))
    window = window_by_number(office, window_number)
    action = request.form.get("action", "")
    staff = current_staff()
    ticket = None
    ticket_id = form_id("ticket")  # BadQuery (400) for what is no id at all
    if ticket_id is not None:
        ticket = db.session.get(Ticket, ticket_id)
        if ticket is None or ticket.office_id != office.id:
            flash(_("找不到该号码，请刷新页面。"), "error")
            return redirect(url_for(".window_page", office=office.code,
                                    window_number=window.number))
    try:
        if action == "call":
            called = calling.call_next(office, window, staff)
            if called is None:
                flash(_("目前没有等候本窗口业务的号码。"), "info")
            else:
                flash(_("已呼叫 %(number)s。", number=called.number), "success")
        elif action == "requeue" and ticket:
            _requeue_and_say(office, ticket)
        elif action in ("recall", "no_show", "register", "refuse", "transfer") and ticket:
            if action == "recall":
                calling.recall(office, ticket, staff)
                flash(_("已重新呼叫 %(number)s。", number=ticket.number), "success")
            elif action == "no_show":
                calling.no_show(office, ticket, staff)
                flash(_("%(number)s 已记为过号。", number=ticket.number), "info")
            elif action == "register":
                calling.complete(office, ticket, staff, "registered")
                flash(_("%(number)s 已办结。", number=ticket.number), "success")
            elif action == "refuse":
                reason = request.form.get("reason") or None
                if reason not in REFUSAL_REASONS:
                    flash(_("不予办理须选择原因。"), "error")
                else:
                    calling.complete(office, ticket, staff, "refused", reason)
                    flash(_("%(number)s 不予办理：%(reason)s。", number=ticket.number,
                            reason=_(REFUSAL_LABELS[reason])), "info")
            else:
                target = request.form.get("target", "")
                kind, _sep, value = target.partition(":")
                if kind not in ("service", "window") or not value:
                    flash(_("请选择转到哪项业务或哪个窗口。"), "error")
                else:
                    calling.transfer(office, ticket, staff,
                                     service=value if kind == "service" else None,
                                     window=value if kind == "window" else None)
                    flash(_("%(number)s 已转出。", number=ticket.number), "info")
        elif action in ("pause", "resume"):
            calling.set_paused(office, window, staff, action == "pause")
            flash(_("本窗口已暂停叫号。") if action == "pause" else _("本窗口已恢复叫号。"), "info")
        else:
            flash(_("未知操作，请刷新页面后重试。"), "error")
    except ApiError as error:
        flash(error_message(error, office), "error")
    return redirect(url_for(".window_page", office=office.code,
                            window_number=window.number))


# --- hall display and ticket status (public) ----------------------------------------------

@blueprint.get("/display/<office>")
def display_page(office: str):
    office = office_or_404(office, not_found=_no_office(office))
    return render_template("hallqueue/display.html", office=office,
                           state=display_state(office, screen=True), spoken_text=spoken_text)


@blueprint.get("/t/<token:token>")
def ticket_page(token: str):
    ticket = ticket_by_token(token)
    office = db.session.get(Office, ticket.office_id)
    return render_template("hallqueue/ticket.html", office=office, ticket=ticket,
                           status=ticket_status(ticket, page=True),
                           status_labels=STATUS_LABELS)


@blueprint.get("/t/<token:token>/qr.svg")
def ticket_qr(token: str):
    ticket = ticket_by_token(token)
    return Response(qr_svg(status_url(ticket)), mimetype="image/svg+xml")
