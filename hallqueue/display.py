"""The hall screen's state (docs/api.md §3 GET /offices/{office}/display) and a ticket's status
(GET /tickets/{token}). No personal data: numbers, windows, counts and times only.

How a call reaches every open display within a second, whatever the deployment: each
screen polls the display endpoint every 500 ms with `If-None-Match`. The state is computed
from the database (a handful of indexed queries over today's rows of one office), so a call
committed by any gunicorn worker on any host is visible to the very next poll served by any
other: worst case one poll interval plus one request (measured on the 2-core test machine
with 2 gunicorn workers: see bench/results/display-latency.json, written by
tests/hallqueue/test_live_display.py). Unchanged state answers 304 with no body, so an idle
screen costs a few hundred bytes a second. We chose this over server-sent events because
SSE holds a worker per open screen (gunicorn's sync workers would run out), needs a fan-out
(Redis pub/sub or LISTEN/NOTIFY) to cross hosts, and must be re-established after every
restart, whereas a poll is stateless, works on SQLite and PostgreSQL alike and recovers by
itself from a network or server restart.
"""

import hashlib
import json
from datetime import datetime, time

from flask_babel import gettext as _
from sqlalchemy import func, select

from core.clock import to_local, zone
from core.extensions import db
from core.i18n import localized
from hallqueue.common import office_today, services_by_code
from hallqueue.models import CallEvent, Ticket
from hallqueue.ordering import estimated_wait_minutes, people_ahead
from offices.models import Office, Window

HISTORY_LENGTH = 10


def spoken_text(number: str, window: str) -> str:
    """What the hall hears: 请 J001 号到 3 号窗口办理."""
    return f"请 {number} 号到 {window} 号窗口办理"


def _iso(value: datetime, office: Office) -> str:
    return to_local(value, office.timezone).isoformat(timespec="seconds")


def _day_start_utc(office: Office):
    day = office_today(office)
    return datetime.combine(day, time(0), tzinfo=zone(office.timezone))


def notices(office: Office, plan) -> list[str]:
    out = []
    if plan.open and plan.extended and plan.closes_at:
        out.append(_("今日延时服务至 %(until)s，请耐心等候，我们为您办完再下班。",
                     until=plan.closes_at))
    if plan.peak is not None and plan.open:
        out.append(_("今天是%(name)s，登记人数较多，请按叫号顺序办理。", name=localized(plan.peak, 'name')))
    return out


def current_calls(office: Office) -> list[dict]:
    """Each window's newest call whose ticket is still `called`, newest first."""
    day = office_today(office)
    called = {t.id: t for t in db.session.scalars(select(Ticket).where(
        Ticket.office_id == office.id, Ticket.date == day, Ticket.status == "called"))}
    if not called:
        return []
    latest_ids = db.session.scalars(
        select(func.max(CallEvent.id)).where(CallEvent.ticket_id.in_(list(called)))
        .group_by(CallEvent.ticket_id)).all()
    events = db.session.scalars(select(CallEvent).where(CallEvent.id.in_(latest_ids))).all()
    windows = {w.id: w.number for w in db.session.scalars(
        select(Window).where(Window.office_id == office.id))}
    by_window: dict[str, CallEvent] = {}
    for event in events:
        ticket = called[event.ticket_id]
        window = windows.get(ticket.window_id, event.window_number)
        best = by_window.get(window)
        if best is None or (event.called_at, event.id) > (best.called_at, best.id):
            by_window[window] = event
    ordered = sorted(by_window.items(), key=lambda item: (item[1].called_at, item[1].id),
                     reverse=True)
    return [{"window": window, "number": event.number,
             "called_at": _iso(event.called_at, office), "call_id": event.id,
             "service": called[event.ticket_id].service_code}
            for window, event in ordered]


def history(office: Office) -> list[dict]:
    """The last ten calls and recalls of today, newest first, with the words spoken."""
    events = db.session.scalars(
        select(CallEvent).where(CallEvent.office_id == office.id,
                                CallEvent.called_at >= _day_start_utc(office))
        .order_by(CallEvent.id.desc()).limit(HISTORY_LENGTH)).all()
    return [{"id": e.id, "window": e.window_number, "number": e.number, "kind": e.kind,
             "called_at": _iso(e.called_at, office),
             "text": spoken_text(e.number, e.window_number)} for e in events]


def waiting_counts(office: Office) -> dict[str, int]:
    counts = dict(db.session.execute(
        select(Ticket.service_code, func.count()).where(
            Ticket.office_id == office.id, Ticket.date == office_today(office),
            Ticket.status == "waiting").group_by(Ticket.service_code)).all())
    return {code: int(counts.get(code, 0)) for code in office.service_codes}


def waiting_count(office_id: int, day) -> int:
    """Tickets of the day still waiting or being served (for the extend-hours job)."""
    return int(db.session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.office_id == office_id, Ticket.date == day,
        Ticket.status.in_(("waiting", "called")))) or 0)


def display_state(office: Office, screen: bool = False) -> dict:
    """Exactly the docs/api.md §3 state; `screen=True` adds what the hall screen itself shows
    (the last ten calls with their ids and words, service names and order). Names and
    notices follow the request's language; the words spoken stay Mandarin (the clips are)."""
    from hours.calendar import day_plan

    plan = day_plan(office, office_today(office))
    calling = current_calls(office)
    state = {
        "office": office.code,
        "calling": [{key: call[key] for key in ("window", "number", "called_at")}
                    for call in calling],
        "waiting": waiting_counts(office),
        "notices": notices(office, plan),
        "open_until": plan.closes_at if plan.open else None,
        "extended": bool(plan.extended),
    }
    if screen:
        services = services_by_code()
        state.update({
            "calling": calling,
            "office_name": localized(office, "name"),
            "date": office_today(office).isoformat(),
            "history": history(office),
            "services": {code: {"name": localized(services[code], "name"),
                                "prefix": services[code].ticket_prefix}
                         for code in office.service_codes if code in services},
            "service_order": list(office.service_codes),
        })
    return state


def state_etag(state: dict) -> str:
    body = json.dumps(state, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(body).hexdigest()[:32]


def ticket_status(ticket: Ticket, page: bool = False) -> dict:
    """Exactly the docs/api.md §3 fields; `page=True` adds what the status page shows."""
    office = db.session.get(Office, ticket.office_id)
    ahead = people_ahead(ticket)
    status = {
        "number": ticket.number,
        "service": ticket.service_code,
        "status": ticket.status,
        "ahead": ahead,
        "estimated_wait_minutes": estimated_wait_minutes(ticket, office, ahead),
    }
    if page:
        window = db.session.get(Window, ticket.window_id) if ticket.window_id else None
        service = services_by_code().get(ticket.service_code)
        status.update({
            "service_name": localized(service, "name") if service else ticket.service_code,
            "office": office.code,
            "office_name": localized(office, "name"),
            "date": ticket.date.isoformat(),
            "window": (window.number if window is not None and ticket.status == "called"
                       else None),
            "issued_at": _iso(ticket.issued_at, office),
        })
    return status
