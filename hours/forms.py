"""The admins' calendar forms (Flask-WTF, CSRF-protected)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional


class OverrideForm(FlaskForm):
    date = DateField(_l("日期"), validators=[InputRequired(_l("请选择日期。"))])
    mode = RadioField(_l("安排"), choices=[SelectChoice("closed", _l("全天不办公")),
                               SelectChoice("hours", _l("特殊办公时间"))],
                      default="closed", validators=[InputRequired(_l("请选择安排。"))])
    hours = StringField(_l("办公时段"), validators=[Length(max=200)],
                        description=_l("例如 09:00-12:00, 13:30-17:00"))
    note = StringField(_l("说明"), validators=[Length(max=256)],
                       description=_l("公众可见，例如“设备检修”或“集体颁证仪式”"))


class PeakRuleForm(FlaskForm):
    scope = SelectField(_l("适用范围"), validators=[InputRequired()])
    code = StringField(_l("代码"), validators=[InputRequired(_l("请填写代码。")), Length(max=64)],
                       description=_l("小写字母、数字、- 或 _；与全市规则同代码时，本处规则取代它"))
    name = StringField(_l("名称"), validators=[InputRequired(_l("请填写名称。")), Length(max=64)])
    name_en = StringField(_l("英文名称"), validators=[Length(max=64)])
    dates = StringField(_l("公历日期"), validators=[Length(max=500)],
                        description=_l("MM-DD 每年，YYYY-MM-DD 仅一天，用逗号分隔"))
    lunar = StringField(_l("农历日期"), validators=[Length(max=200)],
                        description=_l("MM-DD，例如七夕 07-07（闰月不重复）"))
    hours = StringField(_l("办公时段"), validators=[Length(max=200)],
                        description=_l("例如 08:30-12:00, 12:00-18:30；留空则沿用平日时段"))
    capacity_factor = FloatField(
        _l("名额倍数"), default=1.0,
        validators=[InputRequired(_l("请填写名额倍数。")),
                    NumberRange(min=1, max=10, message=_l("名额倍数应在 1 到 10 之间。"))])
    open_backup_windows = BooleanField(_l("开放备用窗口"), default=True)
    active = BooleanField(_l("启用"), default=True)


class StateDaysForm(FlaskForm):
    start = DateField(_l("开始日期"), validators=[InputRequired(_l("请选择开始日期。"))])
    end = DateField(_l("结束日期"), validators=[Optional()],
                    description=_l("只录一天时可留空"))
    kind = RadioField(_l("类型"), choices=[SelectChoice("holiday", _l("放假")),
                               SelectChoice("makeup_workday", _l("调休上班"))],
                      default="holiday", validators=[InputRequired(_l("请选择类型。"))])
    name = StringField(_l("节日名称"), validators=[Length(max=64)],
                       description=_l("例如 国庆节"))


class ConfirmYearForm(FlaskForm):
    year = IntegerField(_l("年份"), validators=[InputRequired(_l("请填写年份。")),
                                               NumberRange(min=2000, max=2100)])
    note = TextAreaField(_l("备注"), validators=[Length(max=256)],
                         description=_l("例如 国办发明电〔2026〕X号"))


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token (delete, withdraw)."""
