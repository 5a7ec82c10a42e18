"""Who may register where, and what each couple brings (docs/api.md §5.2): a marriage needs a
mainland resident; a couple with a cross-border party books only at an office that takes
them (suining, not chuanshan); GET /services and each booking answer list the papers."""

from __future__ import annotations

import itertools

import pytest

from tests.booking.helpers import MONDAY, problem_code
from tests.booking.ids import make_id

_serial = itertools.count(1)
DESIGNATED, ORDINARY = "suining", "chuanshan"


def mainland(sex: str) -> dict:
    return {"name": "张三" if sex == "M" else "李小红", "id_type": "resident_id",
            "id_number": make_id("19900101" if sex == "M" else "19920202", sex),
            "phone": "13800138000"}


def hong_kong(sex: str) -> dict:
    return {"name": "陈大文" if sex == "M" else "陈美玲", "id_type": "hk_macau_permit",
            "id_number": f"H{next(_serial):08d}", "phone": "+852 9123 4567", "sex": sex,
            "birth_date": "1990-01-01"}


def foreigner(sex: str) -> dict:
    return {"name": "John Smith" if sex == "M" else "Mary Smith", "id_type": "passport",
            "id_number": f"E{next(_serial):08d}", "phone": "+44 7700 900123", "sex": sex,
            "birth_date": "1990-01-01"}


COUPLES = {
    "two mainland residents": (mainland, mainland),
    "mainland + Hong Kong": (hong_kong, mainland),
    "mainland + foreigner": (foreigner, mainland),
    "two foreigners": (foreigner, foreigner),
    "two Hong Kong residents": (hong_kong, hong_kong),
}
# (answer at the designated office, answer at an ordinary one)
EXPECTED = {
    "two mainland residents": (201, 201),
    "mainland + Hong Kong": (201, "not_eligible"),
    "mainland + foreigner": (201, "not_eligible"),
    "two foreigners": ("not_eligible", "not_eligible"),
    "two Hong Kong residents": ("not_eligible", "not_eligible"),
}


def _marry(client, office: str, kinds) -> object:
    groom, bride = kinds
    return client.post("/api/v1/appointments", json={
        "office": office, "service": "marriage", "date": MONDAY, "start": "09:00",
        "applicants": [groom("M"), bride("F")]})


@pytest.mark.parametrize("couple", list(COUPLES))
def test_each_kind_of_couple_at_a_designated_and_an_ordinary_office(client, booking_env,
                                                                     couple):
    for office, expected in zip((DESIGNATED, ORDINARY), EXPECTED[couple], strict=True):
        response = _marry(client, office, COUPLES[couple])
        body = response.get_json()
        if expected == 201:
            assert response.status_code == 201, (office, body)
            documents = body["documents"]
            text = "\n".join(documents)
            assert "合影" in text and "户口簿" not in text
            if couple == "two mainland residents":
                assert documents[0] == "本人有效的居民身份证"
                assert "无配偶声明" not in text and "签字声明" in text
            else:  # each party's own papers by kind, the declaration for the cross-border one
                assert "内地居民一方：本人有效的居民身份证" in documents
                assert any(d.startswith(("香港、澳门居民一方：", "外国人一方："))
                           and "无配偶声明" in d for d in documents)
                assert ("港澳居民来往内地通行证" if "Hong Kong" in couple else "护照") in text
        else:
            assert response.status_code == 422 and problem_code(response) == expected, body
            detail = body["detail"]
            if couple.startswith("two ") and couple != "two mainland residents":
                assert "至少一方为内地居民" in detail
            else:
                assert "不办理涉外及港澳台居民" in detail


def test_a_macau_or_taiwan_residence_permit_is_cross_border_too(client, booking_env):
    for area in ("820000", "830000"):
        resident = mainland("M") | {"id_number": make_id("19900101", "M", area=area)}
        for office, status in ((ORDINARY, 422), (DESIGNATED, 201)):
            response = client.post("/api/v1/appointments", json={
                "office": office, "service": "marriage", "date": MONDAY, "start": "09:30",
                "applicants": [resident, mainland("F")]})
            assert response.status_code == status, response.get_json()
        documents = response.get_json()["documents"]
        kind = "香港、澳门居民" if area == "820000" else "台湾居民"
        assert any(d.startswith(kind + "一方：") and "无配偶声明" in d for d in documents)


def test_the_services_list_what_to_bring(client, booking_env):
    services = {s["code"]: s for s in client.get("/api/v1/services").get_json()["services"]}
    for service in services.values():
        assert service["documents"] and "户口簿" not in "".join(service["documents"])
        assert set(service["documents_by_party"]) == {
            "mainland", "hk_macau", "taiwan", "overseas_chinese", "foreigner"}
    assert any("离婚协议书" in d for d in services["divorce-certificate"]["documents"])
    assert any("离婚协议书" in d for d in services["divorce"]["documents"])
    assert any("回执" in d for d in services["divorce-certificate"]["documents"])
    reissue = "".join(services["reissue"]["documents"])
    assert "补领结婚证" in reissue and "双人合影" in reissue and "补领离婚证" in reissue \
        and "单人照片" in reissue
    for kind in ("hk_macau", "taiwan", "overseas_chinese", "foreigner"):
        assert any("无配偶声明" in d for d in services["marriage"]["documents_by_party"][kind])
    english = client.get("/api/v1/services?lang=en").get_json()
    marriage = next(s for s in english["services"] if s["code"] == "marriage")
    assert marriage["documents"][0] == "your valid resident identity card"


def test_a_reissue_speaks_to_one_person(client, booking_env):
    response = client.post("/api/v1/appointments", json={
        "office": ORDINARY, "service": "reissue", "date": MONDAY, "start": "09:00",
        "applicants": [mainland("F")]})
    assert response.status_code == 201
    assert "双方" not in "".join(response.get_json()["documents"])
    from core.extensions import db
    from notify.models import OutboxMessage

    [message] = db.session.query(OutboxMessage).all()
    assert "双方" not in message.body


def test_the_booking_pages_say_which_offices_take_cross_border_couples(client, booking_env):
    home = client.get("/").get_data(as_text=True)
    designated_card = home[home.index(f'id="office-{DESIGNATED}"'):]
    designated_card = designated_card[:designated_card.index("</article>")]
    assert "本登记处办理涉外及港澳台居民婚姻登记" in designated_card
    assert home.count("本登记处办理涉外及港澳台居民婚姻登记") == 1  # suining only
    ordinary = client.get(f"/book/{ORDINARY}").get_data(as_text=True)
    assert "只办理内地居民的婚姻登记" in ordinary and "遂宁市婚姻登记中心" in ordinary
    designated = client.get(f"/book/{DESIGNATED}").get_data(as_text=True)
    assert "本登记处办理涉外及港澳台居民婚姻登记" in designated
    form = client.get(f"/book/{DESIGNATED}/marriage/{MONDAY}/apply?start=09:00").get_data(
        as_text=True)
    assert "外国人" in form and "无配偶声明" in form
