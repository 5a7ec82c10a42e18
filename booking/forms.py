"""The booking pages' forms. Checking is booking.rules' and booking.transactions' (one rule
for the page and the API); the forms carry the CSRF token and the fields, and show their
messages next to the field they are about."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Form, FormField, SelectField, StringField, TextAreaField
from wtforms.fields import FieldList
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

ID_TYPE_CHOICES = [
    SelectChoice("resident_id", _l("居民身份证（含港澳台居民居住证）")),
    SelectChoice("foreign_permanent_resident", _l("外国人永久居留身份证")),
    SelectChoice("hk_macau_permit", _l("港澳居民来往内地通行证")),
    SelectChoice("taiwan_permit", _l("台湾居民来往大陆通行证")),
    SelectChoice("passport", _l("护照")),
]
SEX_CHOICES = [SelectChoice("", _l("（证件号码含性别时不必填）")), SelectChoice("M", _l("男")),
               SelectChoice("F", _l("女"))]


class ApplicantForm(Form):
    name = StringField(_l("姓名"))
    id_type = SelectField(_l("证件类型"), choices=ID_TYPE_CHOICES, default="resident_id")
    id_number = StringField(_l("证件号码"))
    phone = StringField(_l("手机号码"))
    sex = SelectField(_l("性别"), choices=SEX_CHOICES, default="")
    birth_date = StringField(_l("出生日期"))


class BookingForm(FlaskForm):
    applicants = FieldList(FormField(ApplicantForm), _l("申请人"), min_entries=1, max_entries=2)


class ConfirmForm(FlaskForm):
    """A button with a CSRF token (cancel)."""


class RescheduleForm(FlaskForm):
    start = StringField(validators=[DataRequired(), Length(min=5, max=5)])


class SearchForm(FlaskForm):
    """Search by code or ID number: posted, so that an ID number never sits in a URL (logs,
    history, the language switch)."""

    q = StringField(_l("预约码或证件号码"), validators=[DataRequired(), Length(max=40)])


class OfficeCancelForm(FlaskForm):
    reason = TextAreaField(_l("取消原因（将通过短信告知申请人）"),
                           validators=[DataRequired(), Length(max=200)])


class DivorceLookupForm(FlaskForm):
    """A party's ID number to find their divorce cases (posted: never in a URL)."""

    id_number = StringField(_l("当事人证件号码"), validators=[DataRequired(), Length(max=40)])
    back = StringField()  # the page to return to (the window or the desk)


class DivorceWithdrawForm(FlaskForm):
    """The withdrawing party's ID number, from the document presented in person."""

    id_number = StringField(_l("撤回方证件号码（本人到场出示证件）"),
                            validators=[DataRequired(), Length(max=40)])
    back = StringField()


class StaffBookingForm(BookingForm):
    """Booking for a couple by phone or at the counter (电话预约 / 现场代约): the public
    form's fields, and the language of their SMS and confirmation."""

    language = SelectField(_l("短信和确认单语言"), choices=[
        SelectChoice("zh_CN", _l("中文")), SelectChoice("en", _l("英文"))], default="zh_CN")
