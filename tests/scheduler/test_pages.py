"""The admin's jobs page and the system warnings partial for the staff home page."""

from flask import render_template_string

from core.extensions import db
from staff.services import create_user


def login(client, role="admin"):
    create_user(f"{role}-user", role, "password-123", None if role == "admin" else "chuanshan")
    db.session.commit()
    response = client.post("/staff/login", data={"username": f"{role}-user",
                                                 "password": "password-123"})
    assert response.status_code == 302


def test_admin_sees_jobs_their_last_runs_and_warnings(app, client, offices, runner, set_now):
    set_now("2026-11-20T08:00:00+08:00")
    assert runner.invoke(args=["jobs", "run", "holiday-data-check"]).exit_code == 0
    login(client)
    page = client.get("/staff/jobs").get_data(as_text=True)
    for job_id in ("sms-dispatch", "extend-hours", "daily-reset", "retention-purge"):
        assert job_id in page
    assert "2027 年的放假通知尚未录入并确认" in page  # the last result, in the page's language
    assert "2027" in page  # the open warning


def test_warnings_partial_shows_only_to_admins(app, client, offices, runner, set_now):
    from flask_login import login_user

    set_now("2026-11-20T08:00:00+08:00")
    runner.invoke(args=["jobs", "run", "holiday-data-check"])
    admin = create_user("admin-x", "admin", "password-123", None)
    desk = create_user("desk-x", "desk", "password-123", "chuanshan")
    db.session.commit()
    partial = '{% include "scheduler/_warnings.html" %}'
    with app.test_request_context():
        login_user(admin)
        shown = render_template_string(partial)
        assert "2027" in shown and 'role="alert"' in shown
    with app.test_request_context():
        login_user(desk)
        assert "2027" not in render_template_string(partial)
    login(client, "desk")
    assert client.get("/staff/jobs").status_code == 403


def test_jobs_page_speaks_the_readers_language_while_the_cli_stays_english(
        app, client, offices, runner, set_now):
    set_now("2026-11-20T08:00:00+08:00")
    assert runner.invoke(args=["jobs", "run", "daily-reset"]).exit_code == 0
    login(client)
    page = client.get("/staff/jobs").get_data(as_text=True)
    for chinese in ("每 5 秒", "每 5 分钟", "每天 00:05", "发送短信发件箱中待发的短信",
                    "调度进程：从未启动过", "尚未排入计划", "成功："):
        assert chinese in page, chinese
    for english in ("every 5 s", "daily at", "Scheduler lease", "not scheduled yet",
                    "send what the SMS outbox holds", "ok (manual)", "ok:"):
        assert english not in page, english

    english = client.get("/staff/jobs?lang=en").get_data(as_text=True)
    for words in ("every 5 s", "every 5 min", "daily at 00:05",
                  "Send the text messages waiting in the SMS outbox", "never started",
                  "not scheduled yet", "OK: "):
        assert words in english, words
    assert "每 5 秒" not in english and "调度进程" not in english

    listed = runner.invoke(args=["jobs", "list"]).output  # the command line: English
    assert "daily at 00:05" in listed and "every 5 s" in listed
    assert "Scheduler lease: never taken" in listed and "not scheduled yet" in listed
    assert "每" not in listed and "调度" not in listed


def test_describe_in_english_for_the_cli_and_translated_for_the_page(app):
    from scheduler import registry

    assert registry.describe({"every": 5}) == "every 5 s"
    assert registry.describe({"every": 300}) == "every 5 min"
    assert registry.describe({"daily": "00:05"}) == "daily at 00:05"
    with app.test_request_context("/"):
        assert registry.describe({"every": 5}, translated=True) == "每 5 秒"
        assert registry.describe({"every": 300}, translated=True) == "每 5 分钟"
        assert registry.describe({"daily": "00:05"}, translated=True) == "每天 00:05"
    with app.test_request_context("/?lang=en"):
        assert registry.describe({"daily": "00:05"}, translated=True) == "daily at 00:05"
        assert str(registry.get_job("sms-dispatch").description) == (
            "Send the text messages waiting in the SMS outbox")


def test_jobs_page_shows_a_real_runs_result_in_the_readers_language(
        app, client, offices, runner, set_now):
    set_now("2026-11-20T08:00:00+08:00")
    printed = runner.invoke(args=["jobs", "run", "daily-reset"])
    assert printed.exit_code == 0, printed.output
    english = printed.output.removeprefix("daily-reset: ").strip()
    assert english.startswith("6 offices: ") and english.endswith("paused windows reopened")

    login(client)
    page = client.get("/staff/jobs").get_data(as_text=True)
    assert "成功：6 个登记处：新建今天的排队号计数" in page
    assert english not in page and "ticket counters" not in page
    assert english in client.get("/staff/jobs?lang=en").get_data(as_text=True)

    listed = runner.invoke(args=["jobs", "list"]).output  # the command line keeps the English
    assert f"ok (manual): {english[:60]}" in listed and "登记处" not in listed


def test_a_failed_run_shows_its_error_after_a_chinese_prefix(
        app, client, offices, runner, monkeypatch):
    import hallqueue.jobs

    def broken() -> str:
        raise RuntimeError("counter table locked; try later")

    monkeypatch.setattr(hallqueue.jobs, "daily_reset_job", broken)
    printed = runner.invoke(args=["jobs", "run", "daily-reset"])
    assert printed.exit_code == 1
    assert "daily-reset failed: RuntimeError: counter table locked; try later" in printed.output
    login(client)
    page = client.get("/staff/jobs").get_data(as_text=True)
    # the status says 出错 once, then the error as it was raised
    assert "出错：RuntimeError: counter table locked; try later" in page
    assert "运行出错" not in page
    english = client.get("/staff/jobs?lang=en").get_data(as_text=True)
    assert "Failed: RuntimeError: counter table locked; try later" in english
