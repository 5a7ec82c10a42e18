"""The Twilio stand-in's read side, driven by the real twilio client: the Messages list
(To, From, DateSent filters, Twilio's page shape and paging) and a single message."""

from datetime import UTC, datetime

import pytest
import requests
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from tests.notify.conftest import ACCOUNT_SID, AUTH_TOKEN, SENDER

JUNE_1 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC).timestamp()
DAY = 86400


@pytest.fixture
def client(twilio) -> Client:
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=TwilioHttpClient(timeout=5))
    client.api.base_url = twilio.url
    client.edge = client.region = None
    return client


def _send(client, to, body, twilio=None, at=None):
    if at is not None:
        twilio.clock = lambda: at
    return client.messages.create(to=to, from_=SENDER, body=body)


def test_the_list_filters_by_to_and_from_newest_first(client, twilio):
    first = _send(client, "+8613800000001", "一", twilio, JUNE_1)
    _send(client, "+8613800000002", "二", twilio, JUNE_1 + 60)
    third = _send(client, "+8613800000001", "三", twilio, JUNE_1 + 120)
    listed = client.messages.list(to="+8613800000001", from_=SENDER)
    assert [m.sid for m in listed] == [third.sid, first.sid]
    assert [m.body for m in listed] == ["三", "一"]
    assert all(m.status == "sent" and m.direction == "outbound-api" for m in listed)
    assert listed[1].date_created == datetime.fromtimestamp(JUNE_1, UTC)
    assert client.messages.list(to="+8613800000001", from_="+15550000000") == []
    assert [(r.query["To"], r.query["From"]) for r in twilio.lookups] == [
        ("+8613800000001", SENDER), ("+8613800000001", "+15550000000")]


def test_date_sent_filters_read_the_date_only_and_skip_queued_messages(client, twilio):
    _send(client, "+8613800000001", "前一天", twilio, JUNE_1 - DAY)
    _send(client, "+8613800000001", "当天", twilio, JUNE_1)
    twilio.queue_seconds = 600
    _send(client, "+8613800000001", "排队中", twilio, JUNE_1 + 60)
    twilio.clock = lambda: JUNE_1 + 120  # the last one is still queued at Twilio

    after = client.messages.list(date_sent_after=datetime(2026, 6, 1, 23, 59, tzinfo=UTC))
    assert [m.body for m in after] == ["当天"]  # the time part is ignored, like Twilio
    assert twilio.lookups[-1].query["DateSent>"] == "2026-06-01T23:59:00Z"
    before = client.messages.list(date_sent_before=datetime(2026, 5, 31, tzinfo=UTC))
    assert [m.body for m in before] == ["前一天"]
    on = client.messages.list(date_sent=datetime(2026, 6, 1, tzinfo=UTC))
    assert [m.body for m in on] == ["当天"]
    everything = client.messages.list()
    assert [(m.body, m.status, m.date_sent is None) for m in everything] == [
        ("排队中", "queued", True), ("当天", "sent", False), ("前一天", "sent", False)]


def test_pages_have_twilio_s_shape_and_the_client_follows_them(client, twilio):
    for n in range(5):
        _send(client, "+8613800000001", f"第{n}条", twilio, JUNE_1 + n)
    page = requests.get(
        f"{twilio.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
        params={"To": "+8613800000001", "PageSize": 2}, auth=(ACCOUNT_SID, AUTH_TOKEN),
        timeout=5).json()
    assert set(page) >= {"messages", "next_page_uri", "previous_page_uri", "first_page_uri",
                         "page", "page_size", "start", "end", "uri"}
    assert (page["page"], page["page_size"], len(page["messages"])) == (0, 2, 2)
    assert "Page=1" in page["next_page_uri"] and page["previous_page_uri"] is None

    listed = client.messages.list(to="+8613800000001", page_size=2)
    assert [m.body for m in listed] == [f"第{n}条" for n in (4, 3, 2, 1, 0)]
    assert len(twilio.lookups) == 1 + 3  # the client walked three pages


def test_a_single_message_can_be_fetched(client, twilio):
    sent = _send(client, "+8613800000001", "取回", twilio, JUNE_1)
    fetched = client.messages(sent.sid).fetch()
    assert (fetched.sid, fetched.body, fetched.status) == (sent.sid, "取回", "sent")


def test_list_lag_hides_new_messages_for_a_while(client, twilio):
    twilio.list_lag = 30
    _send(client, "+8613800000001", "稍后可见", twilio, JUNE_1)
    assert client.messages.list() == []
    twilio.clock = lambda: JUNE_1 + 30
    assert [m.body for m in client.messages.list()] == ["稍后可见"]


def test_look_ups_need_the_account_s_credentials(twilio):
    answer = requests.get(f"{twilio.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
                          auth=(ACCOUNT_SID, "wrong"), timeout=5)
    assert (answer.status_code, answer.json()["code"]) == (401, 20003)


def test_accept_then_drop_takes_the_message_and_answers_nothing(client, twilio):
    twilio.accept_then_drop(1)
    with pytest.raises(requests.ConnectionError):
        _send(client, "+8613800000001", "丢了回答")
    [accepted] = twilio.messages
    assert accepted["body"] == "丢了回答" and twilio.requests[0].dropped
    assert [m.sid for m in client.messages.list()] == [accepted["sid"]]
    _send(client, "+8613800000001", "正常")  # only the next one was dropped
    assert len(twilio.messages) == 2
