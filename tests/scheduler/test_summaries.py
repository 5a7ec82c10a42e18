"""Job summaries: English for the command line, the log and job_runs; read back from the
stored English into the staff page's language (core/summaries.py)."""

import re

import pytest

from core import summaries
from core.summaries import FORMATS, RunSummary, read_summary, translate_summary


def sample_values(run_format) -> dict:
    values = {}
    for index, name in enumerate(run_format.names):
        if name in run_format.raw:
            values[name] = "ValueError: a; b (c) → d"
        elif name in run_format.text:
            values[name] = f"text {index}, with (brackets)"
        elif name in run_format.offices:
            values[name] = f"no-such-office-{index}"  # an office no longer there: its code
        else:
            values[name] = str(10 + index)
    return values


def test_every_format_is_listed_and_names_the_same_values_in_both_languages():
    defined = [value for value in vars(summaries).values()
               if isinstance(value, summaries.RunFormat)]
    assert set(defined) == set(FORMATS)
    for run_format in FORMATS:
        assert set(re.findall(r"%\((\w+)\)s", run_format.msgid)) == set(run_format.names), (
            run_format.english)
        assert set(run_format.text) | set(run_format.raw) | set(run_format.offices) <= \
            set(run_format.names)


@pytest.mark.parametrize("run_format", FORMATS, ids=lambda f: f.english[:30])
def test_each_format_reads_back_from_its_english_in_both_languages(app, run_format):
    values = sample_values(run_format)
    summary = run_format(**values)
    assert isinstance(summary, str) and summary == run_format.english.format(**values)
    assert read_summary(str(summary)) == [(run_format, values)]
    with app.test_request_context("/"):
        chinese = translate_summary(str(summary))
        assert chinese == summary.translated() and chinese != summary
        for value in values.values():
            assert value in chinese
    with app.test_request_context("/?lang=en"):
        assert translate_summary(str(summary)) == summary  # the catalogue keeps the English


def test_joined_parts_are_read_part_by_part(app):
    extended = RunSummary.join([
        summaries.HOURS_EXTENDED(office="chuanshan", previous_close="17:00", until="17:30",
                                 in_hall=3, sms_queued=2),
        summaries.HOURS_EXTENDED(office="lushan", previous_close="17:30", until="18:00",
                                 in_hall=1, sms_queued=0)])
    assert extended == ("chuanshan: extended 17:00 → 17:30 (3 in the hall, 2 SMS queued); "
                        "lushan: extended 17:30 → 18:00 (1 in the hall, 0 SMS queued)")
    holiday = RunSummary.join([summaries.HOLIDAY_DATA_IN_PLACE(year=2026, next_year=2027),
                               summaries.WARNINGS_RESOLVED(resolved=1)])
    assert holiday == "holiday data in place for 2026; nothing due for 2027 yet; 1 warning(s) resolved"
    with app.test_request_context("/"):
        assert translate_summary(str(extended)) == (
            "chuanshan：办公时间从 17:00 延至 17:30（大厅中 3 人，放入 2 条短信）；"
            "lushan：办公时间从 17:30 延至 18:00（大厅中 1 人，放入 0 条短信）")
        assert translate_summary(str(holiday)) == (
            "2026 年的节假日数据已就绪；2027 年的暂时无需录入；已解除 1 条提醒")
    with app.test_request_context("/?lang=en"):
        assert translate_summary(str(extended)) == extended
        assert translate_summary(str(holiday)) == holiday


def test_offices_are_named_in_the_readers_language(app, offices):
    extended = str(RunSummary.join([
        summaries.HOURS_EXTENDED(office="chuanshan", previous_close="17:00", until="17:30",
                                 in_hall=3, sms_queued=2),
        summaries.HOURS_EXTENDED(office="gone", previous_close="17:30", until="18:00",
                                 in_hall=1, sms_queued=0)]))
    assert extended.startswith("chuanshan: extended")  # job_runs, the CLI and logs: the code
    with app.test_request_context("/"):
        assert translate_summary(extended) == (
            "遂宁市船山区婚姻登记处：办公时间从 17:00 延至 17:30（大厅中 3 人，放入 2 条短信）；"
            "gone：办公时间从 17:30 延至 18:00（大厅中 1 人，放入 0 条短信）")
    with app.test_request_context("/?lang=en"):
        assert translate_summary(extended) == (
            "Chuanshan District Marriage Registration Office: extended 17:00 → 17:30 "
            "(3 in the hall, 2 SMS queued); "
            "gone: extended 17:30 → 18:00 (1 in the hall, 0 SMS queued)")


def test_texts_no_format_made_are_shown_as_they_are(app):
    with app.test_request_context("/"):
        for text in ("", "sms-dispatch: module notify.x does not exist yet",
                     "2 sent, 0 to retry", "two sent, 0 to retry, 0 failed",
                     "nothing due; something else"):
            assert translate_summary(text) == text
