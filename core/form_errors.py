"""The error summary of a failed form (templates/_error_summary.html, shown by base.html):
every problem of the page in one list at the top of the content, each linked to its field,
announced (role="alert") and focused when the page loads, so that a phone user whose one
wrong field is far below the fold hears and sees what to fix. base.html also prefixes the
page title with 错误/Error while the summary shows."""

from dataclasses import dataclass

from wtforms import Form
from wtforms.fields import FieldList, FormField


@dataclass(frozen=True)
class Problem:
    message: str
    field_id: str = ""  # the field it is about: the summary links to it
    label: str = ""


def _field_problems(form: Form, prefix: str = "") -> list[Problem]:
    """`prefix` names the entry of a list of subforms ("申请人 2 · ") when there are
    several, since their fields share labels."""
    found = []
    for field in form:
        if field.name == "csrf_token" or field.type == "CSRFTokenField":
            continue  # an expired form is flashed ("表单已过期") by the view
        if isinstance(field, FieldList):
            several = len(field.entries) > 1
            for number, entry in enumerate(field.entries, start=1):
                named = f"{prefix}{field.label.text} {number} · " if several else prefix
                if isinstance(entry, FormField):
                    found.extend(_field_problems(entry.form, named))
                else:
                    found.extend(Problem(str(m), entry.id, named + str(entry.label.text))
                                 for m in entry.errors)
        elif isinstance(field, FormField):
            found.extend(_field_problems(field.form, prefix))
        else:
            found.extend(Problem(str(message), field.id, prefix + str(field.label.text))
                         for message in field.errors)
    return found


def page_problems(form, flashed) -> list[Problem]:
    """The flashed errors (category "error"), then the form's field errors in the order of
    the fields. `form` may be None or not a WTForms form (then only the flashes count)."""
    problems = [Problem(str(message)) for category, message in flashed if category == "error"]
    if isinstance(form, Form):
        problems.extend(_field_problems(form))
    return problems
