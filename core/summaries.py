"""What a job says it did, in the reader's language.

A job function returns a RunSummary: a str whose value is the English line that
`flask jobs run`, `flask jobs list`, the log and job_runs.summary keep, exactly as before.
It is made from a RunFormat below, which pairs that English template with a Chinese message
id naming the same values. job_runs stores only the English; the staff jobs page reads it
back with translate_summary, which matches the text against these formats and shows the
message in the page's language. A text no format matches (an old run, a text cut at 2000
characters) is shown as it is.

A value is a whole number unless its format names it in `text` (any words without ";"),
`raw` (anything: an error's own words, shown untranslated) or `offices` (an office's code,
kept in the English and shown as the office's name in the page's language). A summary of several parts
joined with "; " (RunSummary.join) is read part by part.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from flask_babel import gettext

from core.i18n import N_, current_language

PART_SEPARATOR = "; "


@dataclass(frozen=True)
class RunFormat:
    msgid: str  # Chinese, marked with N_(): "%(sent)s …"
    english: str  # str.format template: "{sent} sent, …"
    text: tuple[str, ...] = ()
    raw: tuple[str, ...] = ()
    offices: tuple[str, ...] = ()

    def __call__(self, **values: object) -> RunSummary:
        return RunSummary(self, values)

    @property
    def names(self) -> list[str]:
        return [name for _, name, _, _ in string.Formatter().parse(self.english) if name]

    @cached_property
    def pattern(self) -> re.Pattern:
        regex = ""
        for literal, name, _, _ in string.Formatter().parse(self.english):
            regex += re.escape(literal)
            if name:
                value = (".*" if name in self.raw else
                         "[^;]*?" if name in self.text or name in self.offices else r"\d+")
                regex += f"(?P<{name}>{value})"
        return re.compile(regex, re.DOTALL)

    def read(self, text: str) -> dict[str, str] | None:
        """The values of `text` when it is this format's English, else None."""
        match = self.pattern.fullmatch(text)
        return match.groupdict() if match else None


class RunSummary(str):
    """A job's one-line summary: the English text, plus the format(s) and values it was
    made from (`parts`)."""

    parts: tuple[tuple[RunFormat, dict], ...]

    def __new__(cls, run_format: RunFormat, values: dict) -> RunSummary:
        summary = super().__new__(cls, run_format.english.format(**values))
        summary.parts = ((run_format, {k: str(v) for k, v in values.items()}),)
        return summary

    @classmethod
    def join(cls, summaries: list[RunSummary]) -> RunSummary:
        """Several summaries as one line: "a; b"."""
        joined = str.__new__(cls, PART_SEPARATOR.join(summaries))
        joined.parts = tuple(part for summary in summaries for part in summary.parts)
        return joined

    def translated(self) -> str:
        return _translate(self.parts)


def _separator() -> str:
    return PART_SEPARATOR if current_language() == "en" else "；"


# How an office's code is shown: the offices package (above core) sets its name look-up at
# start-up (offices.init_app); until then the code itself is shown.
_office_namer: Callable[[str], str] | None = None


def set_office_namer(namer: Callable[[str], str]) -> None:
    global _office_namer
    _office_namer = namer


def _office_name(code: str) -> str:
    return _office_namer(code) if _office_namer is not None else code


def _shown(run_format: RunFormat, values: dict) -> dict:
    return {name: _office_name(value) if name in run_format.offices else value
            for name, value in values.items()}


def _translate(parts) -> str:
    return _separator().join(gettext(run_format.msgid, **_shown(run_format, values))
                             for run_format, values in parts)


def _read_one(text: str) -> tuple[RunFormat, dict] | None:
    for run_format in FORMATS:
        values = run_format.read(text)
        if values is not None:
            return run_format, values
    return None


def read_summary(text: str) -> list[tuple[RunFormat, dict]] | None:
    """The formats and values `text` was made from, or None when it is not a known summary.
    The whole text is tried first (a raw value may hold "; "), then each "; " split."""
    whole = _read_one(text)
    if whole is not None:
        return [whole]
    start = 0
    while (cut := text.find(PART_SEPARATOR, start)) != -1:
        head = _read_one(text[:cut])
        if head is not None:
            rest = read_summary(text[cut + len(PART_SEPARATOR):])
            if rest is not None:
                return [head, *rest]
        start = cut + 1
    return None


def translate_summary(text: str, status: str | None = None) -> str:
    """A stored job_runs.summary in the request's language; unknown texts as they are.
    For a run whose status is "error" the page already says so: a FAILED summary gives
    just the error (出错：RuntimeError: …, not 出错：运行出错：…)."""
    parts = read_summary(text) if text else None
    if not parts:
        return text
    if status == "error" and len(parts) == 1 and parts[0][0] is FAILED:
        return parts[0][1]["error"]
    return _translate(parts)


# --- the formats ---------------------------------------------------------------------------
# Every job's summaries, and the runner's own. The English must stay as it is: tests, the
# command line and the logs compare and show it.

NOTHING_DUE = RunFormat(N_("没有到期要做的事"), "nothing due")
DONE = RunFormat(N_("已完成"), "done")  # a job function that returns nothing
FAILED = RunFormat(N_("运行出错：%(error)s"), "failed: {error}", raw=("error",))
TAKEN_OVER = RunFormat(N_("由 %(holder)s 接手重新运行"), "taken over from {holder}",
                       text=("holder",))
INTERRUPTED = RunFormat(N_("调度进程 %(holder)s 在运行途中停止了"),
                        "the scheduler {holder} stopped during this run", text=("holder",))

# sms-dispatch (notify/dispatch.py)
SMS_NOT_CONFIGURED = RunFormat(N_("短信发送尚未配置（%(error)s），短信留在发件箱中"),
                               "not configured ({error}); messages stay queued",
                               raw=("error",))
SMS_DISPATCHED = RunFormat(N_("发出 %(sent)s 条，待重试 %(retry)s 条，失败 %(failed)s 条"),
                           "{sent} sent, {retry} to retry, {failed} failed")
SMS_DISPATCHED_SKIPPED = RunFormat(
    N_("发出 %(sent)s 条，待重试 %(retry)s 条，失败 %(failed)s 条，跳过 %(skipped)s 条"),
    "{sent} sent, {retry} to retry, {failed} failed, {skipped} skipped")

# sms-reminders, sms-divorce-notices (booking/reminders.py)
REMINDERS_QUEUED = RunFormat(N_("为 %(appointments)s 个预约放入 %(messages)s 条提醒短信"),
                             "{messages} reminders queued for {appointments} appointments")
MESSAGES_QUEUED = RunFormat(N_("放入发件箱 %(queued)s 条短信"), "{queued} messages queued")

# extend-hours (hallqueue/extensions.py): one part per office, joined
NO_EXTENSION = RunFormat(N_("没有登记处需要延时"), "no office needs an extension")
HOURS_EXTENDED = RunFormat(
    N_("%(office)s：办公时间从 %(previous_close)s 延至 %(until)s（大厅中 %(in_hall)s 人，"
       "放入 %(sms_queued)s 条短信）"),
    "{office}: extended {previous_close} → {until} ({in_hall} in the hall, "
    "{sms_queued} SMS queued)", text=("previous_close", "until"), offices=("office",))

# no-show-sweep (booking/attendance.py)
NO_SHOWS_MARKED = RunFormat(
    N_("%(marked)s 个预约记为未到，%(released)s 个以前各天已签到的预约不再妨碍重新预约"),
    "{marked} appointment(s) marked no_show, {released} past check-in(s) released "
    "for new bookings")

# no-show-sweep and daily-reset, whichever runs first on a day (booking/divorce.py)
DIVORCE_CASES_LAPSED = RunFormat(
    N_("%(lapsed)s 个离婚登记申请逾期未领证，视为撤回"),
    "{lapsed} divorce case(s) lapsed (step-2 window passed)")

# daily-reset (hallqueue/jobs.py)
DAILY_RESET = RunFormat(
    N_("%(offices)s 个登记处：新建今天的排队号计数 %(counters)s 个，以前各天的排队号 "
       "%(closed)s 个记为未到，重新开放暂停的窗口 %(reopened)s 个"),
    "{offices} offices: {counters} ticket counters created for today, {closed} tickets of "
    "past days closed as no-show, {reopened} paused windows reopened")

# holiday-data-check (hours/jobs.py): parts joined
HOLIDAY_NOTICE_MISSING = RunFormat(
    N_("%(years)s 年的放假通知尚未录入并确认（新提醒 %(raised)s 条）"),
    "holiday notice not entered and confirmed for {years} ({raised} new warning(s))",
    text=("years",))
HOLIDAY_DATA_IN_PLACE = RunFormat(
    N_("%(year)s 年的节假日数据已就绪；%(next_year)s 年的暂时无需录入"),
    "holiday data in place for {year}; nothing due for {next_year} yet")
WARNINGS_RESOLVED = RunFormat(N_("已解除 %(resolved)s 条提醒"),
                              "{resolved} warning(s) resolved")

# retention-purge (scheduler/retention.py)
PERSONAL_DATA_PURGED = RunFormat(
    N_("已删除 %(cutoff)s 以前的 %(appointments)s 个预约（%(applicants)s 位申请人）、"
       "%(tickets)s 个排队号、%(messages)s 条短信和 %(suggestions)s 条建议中的个人信息"),
    "personal data removed from {appointments} appointments ({applicants} applicants), "
    "{tickets} tickets, {messages} SMS and {suggestions} suggestions dated before {cutoff}",
    text=("cutoff",))

FORMATS: tuple[RunFormat, ...] = (
    NOTHING_DUE, DONE, FAILED, TAKEN_OVER, INTERRUPTED,
    SMS_NOT_CONFIGURED, SMS_DISPATCHED, SMS_DISPATCHED_SKIPPED, REMINDERS_QUEUED,
    MESSAGES_QUEUED, NO_EXTENSION, HOURS_EXTENDED, NO_SHOWS_MARKED, DAILY_RESET,
    DIVORCE_CASES_LAPSED,
    HOLIDAY_NOTICE_MISSING, HOLIDAY_DATA_IN_PLACE, WARNINGS_RESOLVED, PERSONAL_DATA_PURGED,
)  # a new format goes here too (tests/scheduler/test_summaries.py checks)
