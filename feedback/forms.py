"""Forms (Flask-WTF: CSRF on every POST). Business rules live in the service modules;
these only read and bound the input."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from feedback.suggestions import CATEGORY_LABELS, NAME_MAX, REPLY_MAX, TEXT_MAX


class RatingForm(FlaskForm):
    ticket = HiddenField()  # the number of the ticket the tablet showed (J001), never its id
    level = HiddenField()  # set by the pressed button (name="level" value="1".."5")
    comment = TextAreaField(_l("意见或建议（选填）"), validators=[Optional(), Length(max=500)])


class SuggestionForm(FlaskForm):
    office = SelectField(_l("登记处"), choices=[], validate_choice=False)
    category = SelectField(_l("类别"), choices=[], validators=[DataRequired()])
    text = TextAreaField(_l("您的意见"), validators=[DataRequired(), Length(max=TEXT_MAX)])
    name = StringField(_l("姓名（选填）"), validators=[Optional(), Length(max=NAME_MAX)])
    phone = StringField(_l("手机号码（选填，用于短信答复）"), validators=[Optional(), Length(max=32)])

    def __init__(self, *args, office_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.office.choices = [("", _l("不限（全市）"))] + list(office_choices)
        self.category.choices = [(code, label) for code, label in CATEGORY_LABELS.items()]


class SuggestionReplyForm(FlaskForm):
    action = HiddenField()  # take_up | reply | close
    reply = TextAreaField(_l("答复内容"), validators=[Optional(), Length(max=REPLY_MAX)])


class CaseForm(FlaskForm):
    status = SelectField(_l("处理状态"), choices=[])
    assignee = SelectField(_l("承办人"), choices=[])
    note = TextAreaField(_l("处理记录"), validators=[Optional(), Length(max=2000)])
    resolution = TextAreaField(_l("处理结果（办结时填写）"), validators=[Optional(), Length(max=2000)])


class RegistrarForm(FlaskForm):
    staff_number = StringField(_l("工号"), validators=[Optional(), Length(max=32)])
    on_duty = BooleanField(_l("在岗公示"))
    photo = FileField(_l("照片（JPEG、PNG 或 WebP）"))
