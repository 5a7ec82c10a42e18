"""Windows: call-next order and filters, recall, no-show, complete, transfer, pause."""

from sqlalchemy import select

from booking.models import Appointment, DivorceCase
from core.audit import AuditEntry
from core.extensions import db
from hallqueue.models import CallEvent, Ticket
from notify.models import OutboxMessage
from tests.hallqueue.factories import make_appointment, walk_in


def call(client, headers, window, office="chuanshan"):
    return client.post(f"/api/v1/offices/{office}/windows/{window}/call-next", headers=headers)


def check_in(client, headers, appointment, numbers):
    response = client.post("/api/v1/offices/chuanshan/tickets", headers=headers,
                           json={"appointment": appointment.code, "present": numbers})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def act(client, headers, ticket_id, action, body=None):
    return client.post(f"/api/v1/tickets/{ticket_id}/{action}", headers=headers,
                       json=body if body is not None else {})


def test_green_channel_first_then_booked_by_slot_then_walk_ins(client, hall, desk, registrar):
    walk = walk_in(client, desk, serial=1).get_json()
    green = walk_in(client, desk, serial=2, green_channel=True).get_json()
    late, late_ids = make_appointment(hall, "marriage", start="11:00")
    early, early_ids = make_appointment(hall, "marriage", start="09:30")
    late_ticket = check_in(client, desk, late, late_ids)
    early_ticket = check_in(client, desk, early, early_ids)
    order = []
    for _ in range(4):
        response = call(client, registrar, "2")
        assert response.status_code == 200
        body = response.get_json()["ticket"]
        assert body["status"] == "called" and body["window"] == "2"
        assert body["service"] == "marriage"
        order.append(body["number"])
    assert order == [green["number"], early_ticket["number"], late_ticket["number"],
                     walk["number"]]
    assert call(client, registrar, "2").status_code == 204


def test_a_window_calls_only_its_services(client, hall, desk, registrar):
    divorce = walk_in(client, desk, service="divorce", serial=1).get_json()
    assert call(client, registrar, "2").status_code == 204  # window 2: marriage only
    response = call(client, registrar, "3")
    assert response.get_json()["ticket"]["number"] == divorce["number"]


def test_call_again_while_the_previous_is_still_called(client, hall, desk, registrar):
    first = walk_in(client, desk, serial=1).get_json()
    second = walk_in(client, desk, serial=2).get_json()
    assert call(client, registrar, "1").get_json()["ticket"]["id"] == first["id"]
    assert call(client, registrar, "1").get_json()["ticket"]["id"] == second["id"]
    db.session.expire_all()
    assert db.session.get(Ticket, first["id"]).status == "called"


def test_a_paused_window_calls_nothing(client, hall, desk, registrar):
    walk_in(client, desk, serial=1)
    assert client.post("/api/v1/offices/chuanshan/windows/1/pause",
                       headers=registrar).get_json() == {"window": "1", "paused": True}
    response = call(client, registrar, "1")
    assert response.status_code == 409 and response.get_json()["code"] == "window_paused"
    client.post("/api/v1/offices/chuanshan/windows/1/resume", headers=registrar)
    assert call(client, registrar, "1").status_code == 200
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert ["window.pause", "window.resume", "ticket.call"] == [
        a for a in actions if a.startswith(("window.", "ticket.call"))]


def test_call_next_roles_and_unknown_windows(client, hall, desk, registrar, staff_headers):
    walk_in(client, desk, serial=1)
    assert call(client, {}, "1").status_code == 401
    assert call(client, desk, "1").status_code == 403
    assert call(client, staff_headers("registrar", office="anju"), "1").status_code == 403
    assert call(client, registrar, "9").status_code == 404
    assert call(client, registrar, "1", office="nowhere").status_code == 404
    assert call(client, staff_headers("admin"), "1").status_code == 200


def test_recall_announces_again(client, hall, desk, registrar):
    ticket = walk_in(client, desk, serial=1, phone="13800138001").get_json()
    call(client, registrar, "1")
    response = act(client, registrar, ticket["id"], "recall")
    assert response.status_code == 200
    events = db.session.scalars(select(CallEvent).order_by(CallEvent.id)).all()
    assert [(e.kind, e.number, e.window_number) for e in events] == [
        ("call", "J001", "1"), ("recall", "J001", "1")]
    called_sms = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "called")).all()
    assert len(called_sms) == 2 and "请J001号到1号窗口办理" in called_sms[0].body


def test_no_show(client, hall, desk, registrar):
    ticket = walk_in(client, desk, serial=1).get_json()
    assert act(client, registrar, ticket["id"], "no-show").status_code == 409  # not called yet
    call(client, registrar, "1")
    response = act(client, registrar, ticket["id"], "no-show")
    assert response.status_code == 200 and response.get_json()["ticket"]["status"] == "no_show"
    db.session.expire_all()
    assert db.session.get(Ticket, ticket["id"]).status == "no_show"
    assert act(client, registrar, ticket["id"], "recall").status_code == 409


def test_refusal_is_stored_with_its_reason(client, hall, desk, registrar):
    appointment, numbers = make_appointment(hall, "marriage")
    ticket = check_in(client, desk, appointment, numbers)
    call(client, registrar, "1")
    for body in ({"outcome": "refused"}, {"outcome": "refused", "reason": "too_late"},
                 {"outcome": "registered", "reason": "under_age"}, {"outcome": "maybe"}, {}):
        response = act(client, registrar, ticket["id"], "complete", body)
        assert response.status_code == 422, body
        assert response.get_json()["code"] == "invalid_request"
    response = act(client, registrar, ticket["id"], "complete",
                   {"outcome": "refused", "reason": "documents_incomplete"})
    assert response.status_code == 200
    db.session.expire_all()
    stored = db.session.get(Ticket, ticket["id"])
    assert stored.status == "completed" and stored.outcome == "refused"
    assert stored.refusal_reason == "documents_incomplete"
    assert db.session.get(Appointment, appointment.id).status == "completed"
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "ticket.complete"))
    assert audit.details["reason"] == "documents_incomplete"
    again = act(client, registrar, ticket["id"], "complete", {"outcome": "registered"})
    assert again.status_code == 409


def test_every_refusal_reason_is_accepted(client, hall, desk, registrar):
    reasons = ["under_age", "not_present", "documents_incomplete", "no_civil_capacity",
               "not_voluntary"]
    for serial, reason in enumerate(reasons, start=1):
        ticket = walk_in(client, desk, serial=serial).get_json()
        call(client, registrar, "2")
        response = act(client, registrar, ticket["id"], "complete",
                       {"outcome": "refused", "reason": reason})
        assert response.status_code == 200, reason
    stored = db.session.scalars(select(Ticket.refusal_reason).order_by(Ticket.id)).all()
    assert stored == reasons


def test_registered_divorce_starts_cooling_off(client, hall, desk, registrar):
    appointment, numbers = make_appointment(hall, "divorce")
    ticket = check_in(client, desk, appointment, numbers)
    call(client, registrar, "3")
    assert act(client, registrar, ticket["id"], "complete",
               {"outcome": "registered"}).status_code == 200
    case = db.session.scalar(select(DivorceCase))
    assert case is not None and case.accepted_on.isoformat() == "2026-06-15"
    assert case.appointment_id == appointment.id and case.status == "cooling_off"
    assert str(case.cooling_off_ends) == "2026-07-15"


def test_walk_in_divorce_registered_also_starts_cooling_off(client, hall, desk, registrar):
    ticket = walk_in(client, desk, service="divorce", serial=7).get_json()
    call(client, registrar, "3")
    act(client, registrar, ticket["id"], "complete", {"outcome": "registered"})
    case = db.session.scalar(select(DivorceCase))
    assert case is not None and len(case.party_hashes) == 2


def test_refused_divorce_starts_nothing(client, hall, desk, registrar):
    ticket = walk_in(client, desk, service="divorce", serial=7).get_json()
    call(client, registrar, "3")
    act(client, registrar, ticket["id"], "complete",
        {"outcome": "refused", "reason": "not_voluntary"})
    assert db.session.scalar(select(DivorceCase)) is None


def test_transfer_to_another_window_goes_first_there(client, hall, desk, registrar):
    first = walk_in(client, desk, serial=1).get_json()
    second = walk_in(client, desk, serial=2).get_json()
    call(client, registrar, "1")
    response = act(client, registrar, first["id"], "transfer", {"window": "2"})
    assert response.status_code == 200 and response.get_json()["ticket"]["status"] == "waiting"
    # window 1 may not call a ticket sent to window 2; window 2 calls it before J002
    assert call(client, registrar, "1").get_json()["ticket"]["id"] == second["id"]
    assert call(client, registrar, "2").get_json()["ticket"]["id"] == first["id"]


def test_transfer_to_another_service(client, hall, desk, registrar):
    ticket = walk_in(client, desk, serial=1).get_json()
    call(client, registrar, "2")
    bad = act(client, registrar, ticket["id"], "transfer", {"service": "divorce", "window": "2"})
    assert bad.status_code == 422  # window 2 does not serve divorce
    assert act(client, registrar, ticket["id"], "transfer", {}).status_code == 422
    assert act(client, registrar, ticket["id"], "transfer",
               {"service": "divorce"}).status_code == 200
    assert call(client, registrar, "2").status_code == 204
    assert call(client, registrar, "3").get_json()["ticket"]["id"] == ticket["id"]


def test_ticket_actions_respect_office_binding(client, hall, desk, registrar, staff_headers):
    ticket = walk_in(client, desk, serial=1).get_json()
    call(client, registrar, "1")
    other = staff_headers("registrar", office="anju")
    assert act(client, other, ticket["id"], "recall").status_code == 403
    assert act(client, desk, ticket["id"], "recall").status_code == 403
    assert act(client, registrar, 999999, "recall").status_code == 404


def test_near_turn_sms_when_the_queue_moves(client, hall, desk, registrar, app):
    app.config["NEAR_TURN_AHEAD"] = 2
    tickets = [walk_in(client, desk, serial=i, phone=f"1380013800{i}").get_json()
               for i in range(1, 6)]
    assert db.session.scalar(select(OutboxMessage).where(
        OutboxMessage.kind == "near_turn")) is None
    call(client, registrar, "2")  # J001 called: J002 (0 ahead), J003 (1), J004 (2) are near
    near = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "near_turn").order_by(OutboxMessage.id)).all()
    assert [m.to_phone for m in near] == ["+8613800138002", "+8613800138003", "+8613800138004"]
    assert "J004" in near[2].body and "前面还有2人" in near[2].body
    call(client, registrar, "2")  # J005 now has 2 ahead; nobody gets a second message
    near = db.session.scalars(select(OutboxMessage.to_phone).where(
        OutboxMessage.kind == "near_turn")).all()
    assert sorted(near) == [f"+861380013800{i}" for i in range(2, 6)]
    assert tickets[0]["number"] == "J001"


def test_a_call_writes_its_rows_and_sends_nothing_to_a_number_that_opted_out(
        client, hall, desk, registrar, app):
    """A call's event, SMS, "near turn" marks and audit entry are written by the call
    itself, one statement per table: the same rows as through the ORM. A number that
    opted out gets neither SMS; its ticket is marked all the same, so that the next call
    does not ask again."""
    from notify.outbox import opt_out

    app.config["NEAR_TURN_AHEAD"] = 2
    tickets = [walk_in(client, desk, serial=i, phone=f"1380013800{i}").get_json()
               for i in range(1, 5)]
    opt_out("+8613800138002")
    opt_out("+8613800138004")
    answer = call(client, registrar, "2")  # J001 called; J002, J003 and J004 are near
    assert answer.status_code == 200 and answer.get_json()["ticket"]["number"] == "J001"
    db.session.expire_all()
    sent = db.session.execute(select(OutboxMessage.kind, OutboxMessage.to_phone)
                              .order_by(OutboxMessage.id)).all()
    assert [tuple(row) for row in sent] == [("called", "+8613800138001"),
                                            ("near_turn", "+8613800138003")]
    marked = {t.number: t.near_turn_sms_at is not None
              for t in db.session.scalars(select(Ticket))}
    assert marked == {"J001": False, "J002": True, "J003": True, "J004": True}
    events = db.session.scalars(select(CallEvent)).all()
    assert [(e.ticket_id, e.number, e.window_number, e.kind) for e in events] == [
        (tickets[0]["id"], "J001", "2", "call")]
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "ticket.call")).one()
    assert entry.target == f"ticket:{tickets[0]['id']}"
    assert entry.details == {"number": "J001", "window": "2"} and entry.at is not None
    assert entry.username and entry.office_id == db.session.get(Ticket, tickets[0]["id"]).office_id
    call(client, registrar, "2")  # J002 called (no SMS: opted out); nobody new is near
    db.session.expire_all()
    assert db.session.scalar(select(db.func.count()).select_from(OutboxMessage)) == 2


def test_completion_invites_a_rating_by_sms(client, hall, desk, registrar):
    ticket = walk_in(client, desk, serial=1, phone="13800138009").get_json()
    call(client, registrar, "1")
    act(client, registrar, ticket["id"], "complete", {"outcome": "registered"})
    rating = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "rate_service")).all()
    assert [m.to_phone for m in rating] == ["+8613800138009"]


def test_a_backup_window_calls_only_on_a_peak_day(client, hall, desk, registrar, set_now):
    walk_in(client, desk, serial=1)
    closed = call(client, registrar, "5")  # chuanshan's backup window, on a Monday
    assert closed.status_code == 409 and closed.get_json()["code"] == "window_closed"
    set_now("2026-05-20T10:00:00+08:00")  # 5·20: the peak rule opens backup windows
    walk_in(client, desk, serial=2)
    response = call(client, registrar, "5")
    assert response.status_code == 200 and response.get_json()["ticket"]["window"] == "5"
