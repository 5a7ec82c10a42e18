"""The hall's pages: front desk, kiosk, windows, display, printed ticket, status page."""

import re

from sqlalchemy import select

from booking.models import Appointment
from core.extensions import db
from hallqueue.models import Ticket
from staff.services import create_user
from tests.hallqueue.factories import id_number, make_appointment, walk_in


def login(client, role, office="chuanshan"):
    username = f"page-{role}-{office}"
    create_user(username, role, "password-123", office)
    response = client.post("/staff/login", data={"username": username,
                                                 "password": "password-123"})
    assert response.status_code == 302
    return client


def test_staff_pages_need_the_right_role(client, hall):
    assert client.get("/desk/chuanshan").status_code == 302  # to the login page
    login(client, "registrar")
    assert client.get("/desk/chuanshan").status_code == 403
    assert client.get("/kiosk/chuanshan").status_code == 403
    assert client.get("/window/chuanshan").status_code == 200
    assert client.get("/window/anju").status_code == 403  # staff of another office
    assert client.get("/window/chuanshan/9").status_code == 404


def test_staff_home_links_the_hall_screens(client, hall):
    login(client, "desk")
    page = client.get("/staff/").get_data(as_text=True)
    for link in ("/desk/chuanshan", "/kiosk/chuanshan", "/display/chuanshan"):
        assert link in page
    assert "/window/chuanshan" not in page  # desk staff do not call


def test_desk_shows_full_id_numbers_and_issues_after_presence(client, hall):
    login(client, "desk")
    appointment, numbers = make_appointment(hall, "marriage")
    page = client.get(f"/desk/chuanshan?code={appointment.code}").get_data(as_text=True)
    assert numbers[0] in page and numbers[1] in page and "张小三" in page
    response = client.post("/desk/chuanshan/tickets",
                           data={"appointment": appointment.code, "present": [numbers[0]]})
    assert response.status_code == 302 and appointment.code in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "不到场不办" in page
    assert db.session.scalar(select(Ticket)) is None
    response = client.post("/desk/chuanshan/tickets",
                           data={"appointment": appointment.code, "present": numbers})
    assert response.status_code == 302 and "/print" in response.headers["Location"]
    receipt = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "J001" in receipt and "结婚登记" in receipt and "前面还有 0 人" in receipt
    ticket = db.session.scalar(select(Ticket))
    assert f"/t/{ticket.token}/qr.svg" in receipt
    qr = client.get(f"/t/{ticket.token}/qr.svg")
    assert qr.mimetype == "image/svg+xml" and b"<svg" in qr.data
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status == "checked_in"


def test_desk_lookup_of_an_unknown_code(client, hall):
    login(client, "desk")
    response = client.post("/desk/chuanshan", data={"q": "NOSUCH99"})
    assert response.status_code == 200  # the desk again, with what was typed
    page = response.get_data(as_text=True)
    assert "未找到该预约" in page and 'value="NOSUCH99"' in page
    assert 'id="appointment"' not in page
    response = client.get("/desk/chuanshan?code=NOSUCH99")
    assert response.headers["Location"] == "/desk/chuanshan"
    assert "未找到该预约" in client.get("/desk/chuanshan").get_data(as_text=True)


def test_desk_lookup_is_a_post_and_no_id_number_goes_into_a_url(client, hall):
    """A typed or scanned ID number is sent in the body of a POST; the desk then goes to a
    URL that carries the appointment code only (access logs and history keep URLs)."""
    login(client, "desk")
    appointment, numbers = make_appointment(hall, "marriage")
    page = client.get("/desk/chuanshan").get_data(as_text=True)
    form = re.search(r'<form[^>]*id="lookup-form"[^>]*>(.*?)</form>', page, re.S)
    assert 'method="post"' in form.group(0) and 'action="/desk/chuanshan"' in form.group(0)
    assert 'name="csrf_token"' in form.group(1) and 'name="q"' in form.group(1)
    for typed in (numbers[1], numbers[1].lower(), appointment.code.lower()):
        response = client.post("/desk/chuanshan", data={"q": f" {typed} "})
        assert response.status_code == 303
        location = response.headers["Location"]
        assert location == f"/desk/chuanshan?code={appointment.code}"
        shown = client.get(location).get_data(as_text=True)
        assert numbers[0] in shown and numbers[1] in shown and "张小三" in shown
        assert f'name="appointment" value="{appointment.code}"' in shown
    # an ID number that does not match: the desk again, the number only in the page body
    stranger = id_number(777)
    response = client.post("/desk/chuanshan", data={"q": stranger})
    assert response.status_code == 200 and "未找到该预约" in response.get_data(as_text=True)
    assert client.post("/desk/chuanshan", data={"q": "  "}).headers["Location"] == (
        "/desk/chuanshan")
    # a failed check-in goes back to the appointment by its code
    failed = client.post("/desk/chuanshan/tickets",
                         data={"appointment": appointment.code, "present": [stranger]})
    assert failed.headers["Location"] == f"/desk/chuanshan?code={appointment.code}"


def test_desk_url_never_looks_up_an_id_number(client, hall):
    login(client, "desk")
    appointment, numbers = make_appointment(hall, "marriage")
    for query, message in ((f"q={numbers[0]}", "网址中只能带预约码"),
                           (f"code={numbers[0]}", "未找到该预约")):
        response = client.get(f"/desk/chuanshan?{query}", follow_redirects=True)
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and 'id="appointment"' not in page
        assert numbers[0] not in page and numbers[1] not in page
        assert message in page
    # an old link with ?q=CODE still opens the appointment, by its code
    response = client.get(f"/desk/chuanshan?q={appointment.code}")
    assert response.headers["Location"] == f"/desk/chuanshan?code={appointment.code}"


def test_kiosk_forms_send_id_numbers_only_by_post(client, hall):
    login(client, "desk")
    page = client.get("/kiosk/chuanshan").get_data(as_text=True)
    forms = re.findall(r'<form[^>]*action="/kiosk/chuanshan"[^>]*>', page)
    assert len(forms) == 2 and all('method="post"' in form for form in forms)
    assert 'method="get"' not in page


def test_desk_walk_in_with_green_channel(client, hall):
    login(client, "desk")
    response = client.post("/desk/chuanshan/tickets", data={
        "service": "marriage", "present": [id_number(1), id_number(2, "F")],
        "green_channel": "1", "phone": "13800138000"})
    assert response.status_code == 302
    ticket = db.session.scalar(select(Ticket))
    assert ticket.green_channel and ticket.number == "J001" and ticket.source == "desk"
    page = client.get("/desk/chuanshan").get_data(as_text=True)
    assert "J001" in page and "绿色通道" in page


def test_kiosk_refuses_outside_opening_hours(client, hall, set_now):
    login(client, "desk")
    set_now("2026-06-15T18:00:00+08:00")
    page = client.get("/kiosk/chuanshan").get_data(as_text=True)
    assert "现在不是取号时间" in page and "08:30 至 17:00" in page
    assert 'name="service"' not in page
    response = client.post("/kiosk/chuanshan", data={
        "service": "reissue", "present": [id_number(1)]}, follow_redirects=True)
    assert "现在不是取号时间" in response.get_data(as_text=True)
    assert db.session.scalar(select(Ticket)) is None
    set_now("2026-06-13T10:00:00+08:00")  # Saturday
    assert "今天不办公" in client.get("/kiosk/chuanshan").get_data(as_text=True)


def test_kiosk_issues_walk_in_and_check_in(client, hall):
    login(client, "desk")
    page = client.get("/kiosk/chuanshan").get_data(as_text=True)
    assert "结婚登记" in page and "我有预约" in page
    response = client.post("/kiosk/chuanshan", data={
        "service": "reissue", "present": [id_number(1), ""]})
    assert response.status_code == 200
    assert "B001" in response.get_data(as_text=True)
    appointment, numbers = make_appointment(hall, "divorce")
    response = client.post("/kiosk/chuanshan", data={"appointment": appointment.code,
                                                     "present": numbers})
    text = response.get_data(as_text=True)
    assert "L001" in text and numbers[0] not in text  # no full ID number at the kiosk
    sources = db.session.scalars(select(Ticket.source)).all()
    assert sources == ["kiosk", "kiosk"]


def test_window_page_calls_and_completes(client, hall, staff_headers):
    appointment, numbers = make_appointment(hall, "marriage")
    desk = staff_headers("desk", office="chuanshan")
    client.post("/api/v1/offices/chuanshan/tickets", headers=desk,
                json={"appointment": appointment.code, "present": numbers})
    walk_in(client, desk, serial=5)
    login(client, "registrar")
    chooser = client.get("/window/chuanshan").get_data(as_text=True)
    assert "/window/chuanshan/1" in chooser and "备用窗口" in chooser
    page = client.get("/window/chuanshan/1").get_data(as_text=True)
    assert 'data-key="n"' in page and "J001" in page  # next in line
    response = client.post("/window/chuanshan/1", data={"action": "call"},
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "已呼叫 J001" in page
    assert "张小三" in page and numbers[0] not in page  # names, masked ID numbers
    assert numbers[0][:4] + "*" * 10 + numbers[0][-4:] in page
    ticket = db.session.scalar(select(Ticket).where(Ticket.number == "J001"))
    response = client.post("/window/chuanshan/1", data={
        "action": "refuse", "ticket": ticket.id, "reason": ""}, follow_redirects=True)
    assert "须选择原因" in response.get_data(as_text=True)
    response = client.post("/window/chuanshan/1", data={
        "action": "refuse", "ticket": ticket.id, "reason": "under_age"}, follow_redirects=True)
    assert "不予办理" in response.get_data(as_text=True)
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.outcome == "refused" and ticket.refusal_reason == "under_age"


def test_window_page_pause_resume_transfer_and_no_show(client, hall, staff_headers):
    desk = staff_headers("desk", office="chuanshan")
    walk_in(client, desk, serial=1)
    walk_in(client, desk, serial=2)
    login(client, "registrar")
    page = client.post("/window/chuanshan/2", data={"action": "pause"},
                       follow_redirects=True).get_data(as_text=True)
    assert "本窗口已暂停叫号" in page and 'data-paused="true"' in page
    page = client.post("/window/chuanshan/2", data={"action": "call"},
                       follow_redirects=True).get_data(as_text=True)
    assert "暂停" in page and db.session.scalar(
        select(Ticket).where(Ticket.status == "called")) is None
    client.post("/window/chuanshan/2", data={"action": "resume"})
    client.post("/window/chuanshan/2", data={"action": "call"})
    first = db.session.scalar(select(Ticket).where(Ticket.number == "J001"))
    page = client.post("/window/chuanshan/2", data={
        "action": "transfer", "ticket": first.id, "target": "window:1"},
        follow_redirects=True).get_data(as_text=True)
    assert "已转出" in page
    client.post("/window/chuanshan/1", data={"action": "call"})
    db.session.expire_all()
    first = db.session.get(Ticket, first.id)
    assert first.status == "called" and first.window_id is not None
    client.post("/window/chuanshan/1", data={"action": "no_show", "ticket": first.id})
    db.session.expire_all()
    assert db.session.get(Ticket, first.id).status == "no_show"


def test_display_page_shows_the_call_and_its_words(client, hall, staff_headers):
    desk = staff_headers("desk", office="chuanshan")
    registrar = staff_headers("registrar", office="chuanshan")
    walk_in(client, desk, serial=1)
    client.post("/api/v1/offices/chuanshan/windows/2/call-next", headers=registrar)
    response = client.get("/display/chuanshan")  # public: the hall screen has no login
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-spoken-text="请 J001 号到 2 号窗口办理"' in page
    assert "hallqueue/display.js" in page and "/api/v1/offices/chuanshan/display" in page
    assert "<script>" not in page  # the CSP allows only script files from 'self'
    assert client.get("/display/nowhere").status_code == 404


def test_display_labels_follow_the_language_and_the_spoken_words_stay_mandarin(
        client, hall, staff_headers):
    desk = staff_headers("desk", office="chuanshan")
    registrar = staff_headers("registrar", office="chuanshan")
    walk_in(client, desk, serial=1)
    client.post("/api/v1/offices/chuanshan/windows/2/call-next", headers=registrar)
    chinese = client.get("/display/chuanshan").get_data(as_text=True)
    assert '<span class="win">2</span> 号窗口办理' in chinese
    assert '<span class="win">2 号窗口</span>' in chinese
    assert 'data-window-label="{window} 号窗口"' in chinese
    assert 'data-call-label="请到 {window} 号窗口办理"' in chinese
    english = client.get("/display/chuanshan?lang=en").get_data(as_text=True)
    assert 'data-spoken-text="请 J001 号到 2 号窗口办理"' in english  # what the hall hears
    assert 'data-window-label="Window {window}"' in english and 'data-locale="en"' in english
    assert 'data-call-label="please go to window {window}"' in english
    assert '<span class="win">Window 2</span>' in english
    assert 'please go to window <span class="win">2</span>' in english
    visible = re.sub(r'data-[a-z-]+="[^"]*"', "", english)
    assert "号窗口" not in visible


def test_ticket_status_page(client, hall, staff_headers):
    desk = staff_headers("desk", office="chuanshan")
    walk_in(client, desk, serial=1)
    token = walk_in(client, desk, serial=2).get_json()["token"]
    page = client.get(f"/t/{token}").get_data(as_text=True)
    assert "J002" in page and "等候中" in page
    assert re.search(r'id="ticket-ahead">1<', page)
    assert client.get("/t/nope").status_code == 404


def test_audio_clips_are_shipped_and_small(app):
    from pathlib import Path

    audio = Path(app.static_folder) / "hallqueue" / "audio"
    names = ([f"digit-{d}" for d in range(10)] + ["ten", "qing", "hao-dao", "window-banli",
             "chime"] + [f"letter-{c}" for c in "jlfb"])
    for name in names:
        clip = audio / f"{name}.ogg"
        assert clip.exists(), name
        assert clip.read_bytes()[:4] == b"OggS" and clip.stat().st_size < 40_000, name
