"""The outbox for admins: every message with its status and error, filter by status,
send a failed one again (audited)."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from core.auth import current_staff, page_roles
from core.clock import zone
from core.extensions import db
from core.i18n import N_
from core.privacy import mask_phone
from core.requests import BadQuery, arg_page
from notify.models import MESSAGE_STATUSES, OutboxMessage
from notify.outbox import RESENDABLE_STATUSES, ResendRefused, resend
from offices.queries import require_all_offices

blueprint = Blueprint("notify", __name__)

PAGE_SIZE = 50
# Message ids (N_): translated in templates/notify/outbox.html.
STATUS_LABELS = {"pending": N_("待发送"), "sending": N_("发送中"), "sent": N_("已发送"),
                 "delivered": N_("已送达"), "failed": N_("发送失败"), "undelivered": N_("未送达")}
# The provider's own word for a message (Twilio's status) and the sending backend, in the
# page's language; a word not listed shows as it is.
PROVIDER_STATUS_LABELS = {"accepted": N_("已受理"), "scheduled": N_("已排期"), "queued": N_("排队中"),
                          "sending": N_("发送中"), "sent": N_("已发出"), "delivered": N_("已送达"),
                          "read": N_("已读"), "undelivered": N_("未送达"), "failed": N_("发送失败"),
                          "canceled": N_("已取消"), "receiving": N_("接收中"),
                          "received": N_("已接收")}
BACKEND_LABELS = {"console": N_("控制台（测试用，未真正发送）"), "twilio": N_("Twilio 短信"),
                  "aliyun": N_("阿里云短信"), "tencent": N_("腾讯云短信")}
KIND_LABELS = {"booking_confirmed": N_("预约成功"), "booking_rescheduled": N_("改约"),
               "booking_cancelled": N_("取消预约"), "cancelled_by_office": N_("登记处取消预约"),
               "reminder": N_("前一天提醒"), "near_turn": N_("即将叫号"), "called": N_("叫号"),
               "hours_extended": N_("延时服务"), "step2_opens": N_("冷静期届满"),
               "step2_closing": N_("发证期限将满"), "rate_service": N_("服务评价"),
               "suggestion_reply": N_("意见答复"), "counseling_offer": N_("婚姻家庭辅导")}
# What our own error codes mean (a provider's codes are shown as it gives them)
ERROR_LABELS = {"no_template": N_("该类短信未配置服务商模板，未发送"),
                "no_params": N_("该短信没有模板参数，模板类服务商无法发送"),
                "awaiting_receipt": N_("等服务商回执确认未发出后再发送"),
                "lookup": N_("无法向服务商查询是否已发出，稍后重试")}


@blueprint.get("/staff/sms")
@page_roles()
def outbox():
    require_all_offices()  # messages belong to no one office: staff of every office only
    answer = 200  # 400 when the query string could not be read: the message says so
    status = request.args.get("status", "")
    if status and status not in MESSAGE_STATUSES:
        flash(_("未知的状态：%(status)s，已显示全部短信。", status=status[:20]), "error")
        status, answer = "", 400
    try:
        page = arg_page()
    except BadQuery as error:
        flash(error.description, "error")
        page, answer = 1, 400
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status:
        query = query.where(OutboxMessage.status == status)
    messages = db.session.scalars(query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
    counts = dict(db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    return render_template(
        "notify/outbox.html", messages=messages[:PAGE_SIZE], has_next=len(messages) > PAGE_SIZE,
        page=page, status=status, statuses=MESSAGE_STATUSES, counts=counts,
        status_labels=STATUS_LABELS, kind_labels=KIND_LABELS, error_labels=ERROR_LABELS,
        provider_labels=PROVIDER_STATUS_LABELS, backend_labels=BACKEND_LABELS,
        mask_phone=mask_phone,
        resendable=RESENDABLE_STATUSES,
        tz=zone(current_app.config.get("BABEL_DEFAULT_TIMEZONE"))), answer


def _refusal_text(reason: str) -> str:
    texts = {
        "not_found": _("没有这条短信。"),
        "not_failed": _("只有发送失败或未送达的短信可以重发。"),
        "opted_out": _("该号码已退订提醒短信，不能重发。"),
        "changed": _("短信状态已变化，请刷新后重试。"),
    }
    return texts.get(reason, reason)


@blueprint.post("/staff/sms/<int:message_id>/resend")
@page_roles()
def resend_message(message_id: int):
    require_all_offices()
    try:
        resend(message_id, current_staff())
    except ResendRefused as refused:
        flash(_refusal_text(refused.reason), "error")
    else:
        flash(_("短信 #%(id)s 已重新排队，稍后发送。", id=message_id), "success")
    status = request.form.get("status", "")
    return redirect(url_for("notify.outbox", status=status or None))
