"""Public disclosure (政务公开): each office's page in Chinese and English, with its own data,
the service guides, hours and coming extended hours, registrars on duty with their photos,
and the statement that registration is free of charge."""

import io
from datetime import date

import pytest
from sqlalchemy import select

from core.audit import AuditEntry
from core.extensions import db
from feedback.models import RegistrarProfile
from hours.models import DayExtension
from staff.services import create_user

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
       b"\x00\x00\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe"
       b"\xa75\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def app_overrides(tmp_path):
    return {"UPLOAD_FOLDER": str(tmp_path / "uploads"), "REGISTRAR_PHOTO_MAX_BYTES": 4096}


@pytest.fixture
def page(client, offices, set_now):
    set_now("2026-05-12T10:00:00+08:00")  # a Tuesday, eight days before 5·20

    def get(path: str, **kwargs) -> str:
        response = client.get(path, **kwargs)
        assert response.status_code == 200, path
        return response.get_data(as_text=True)

    return get


def test_chinese_page_has_the_offices_own_data(page, offices):
    text = page("/info/chuanshan")
    office = offices["chuanshan"]
    for value in (office.name, office.address, office.phone, office.supervision_phone,
                  office.jurisdiction):
        assert value in text
    assert "婚姻登记不收取任何费用" in text and "收费标准：免费" in text
    for heading in ("结婚登记", "离婚登记申请", "离婚登记发证", "补领婚姻登记证", "办理条件",
                    "办理程序", "所需材料"):
        assert heading in text
    for document in ("居民身份证", "签字声明", "离婚协议书", "离婚登记申请受理回执单",
                     "近期2寸半身免冠双人合影照片",
                     "不再需要户口簿"):
        assert document in text
    assert "男方年满22周岁，女方年满20周岁" in text
    assert "09:00–12:00，13:30–17:00" in text and "休息" in text  # weekdays; the weekend
    # chuanshan does not take cross-border couples: the page names the office that does
    assert "外国人" not in text and "遂宁市婚姻登记中心" in text
    other = page("/info/anju")
    assert offices["anju"].name in other and offices["chuanshan"].phone not in other


def test_the_designated_office_lists_cross_border_documents(page):
    text = page("/info/suining")
    assert "本登记处受理涉外、涉港澳台居民及华侨的婚姻登记" in text
    for kind in ("香港、澳门居民", "台湾居民", "华侨", "外国人"):
        assert kind in text
    assert "附加证明书（Apostille）" in text


def test_english_page(page, client, offices):
    text = page("/info/chuanshan?lang=en")
    assert '<html lang="en">' in text
    assert "Chuanshan District Marriage Registration Office" in text
    assert offices["chuanshan"].address_en in text and offices["chuanshan"].phone in text
    assert "free of charge" in text
    assert "Marriage registration" in text and "Certificate reissue" in text
    assert "Mainland residents" in text and "resident identity card" in text
    assert "at least 22" in text and "Since 10 May 2025" in text
    assert "婚姻登记条例" not in text and "居民身份证" not in text  # the guide is all English
    client.set_cookie("lang", "en")
    assert "free of charge" in page("/info/anju")
    assert "Anju District Marriage Registration Office" in page("/info/anju")


def test_hours_and_the_coming_extended_hours(page, offices):
    text = page("/info/chuanshan")
    assert "近期特别安排" in text
    assert "2026-05-20" in text and "延时服务" in text and "5·20" in text
    assert "08:30–12:00，12:00–18:30" in text  # the peak day's hours
    db.session.add(DayExtension(office_id=offices["chuanshan"].id, date=date(2026, 5, 12),
                                previous_close="17:00", until="18:00", waiting_count=4))
    db.session.commit()
    text = page("/info/chuanshan")
    assert "今天办公时间：09:00–12:00，13:30–18:00（延时服务）" in text


def test_unknown_office_is_404(client, offices):
    assert client.get("/info/nowhere").status_code == 404


def test_home_page_links_to_the_guide(page):
    text = page("/")
    assert 'href="/info/chuanshan"' in text and "办事指南" in text


def test_registrars_on_duty_with_photo_and_staff_number(page, client, offices, login,
                                                        tmp_path):
    wang = create_user("wang", "registrar", "password-123", "chuanshan", "王登记")
    zhao = create_user("zhao", "registrar", "password-123", "chuanshan", "赵登记")
    create_user("li", "registrar", "password-123", "anju", "李登记")
    login("admin", "chuanshan")

    response = client.post(f"/staff/registrars/{wang.id}", data={
        "staff_number": "SN-0101", "on_duty": "y",
        "photo": (io.BytesIO(PNG), "wang.png")}, content_type="multipart/form-data")
    assert response.status_code == 302
    client.post(f"/staff/registrars/{zhao.id}", data={"staff_number": "SN-0102"})  # off duty

    profile = db.session.get(RegistrarProfile, wang.id)
    stored = tmp_path / "uploads" / "registrars" / profile.photo_file
    assert stored.read_bytes() == PNG and profile.photo_type == "image/png"
    text = page("/info/chuanshan").split('id="registrars"')[1].split("</section>")[0]
    assert "王登记" in text and "SN-0101" in text
    assert f'src="/info/photos/{profile.photo_file}"' in text
    assert "赵登记" not in text and "李登记" not in text  # off duty; another office
    photo = client.get(f"/info/photos/{profile.photo_file}")
    assert photo.status_code == 200 and photo.mimetype == "image/png" and photo.data == PNG
    assert client.get("/info/photos/../../secret_key").status_code == 404
    assert client.get("/info/photos/nothing.png").status_code == 404

    actions = [(e.action, e.target) for e in db.session.scalars(
        select(AuditEntry).order_by(AuditEntry.id))]
    assert ("feedback.registrar_photo", f"user:{wang.id}") in actions
    assert ("feedback.registrar_profile", f"user:{zhao.id}") in actions
    zhao_entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.target == f"user:{zhao.id}"))
    assert zhao_entry.details["on_duty_to"] is False
    assert zhao_entry.details["staff_number_to"] == "SN-0102"

    # a new photo replaces the old file
    old = stored
    client.post(f"/staff/registrars/{wang.id}", data={
        "staff_number": "SN-0101", "on_duty": "y",
        "photo": (io.BytesIO(b"\xff\xd8\xff\xe0" + b"\x00" * 64), "new.jpg")},
        content_type="multipart/form-data")
    db.session.expire_all()
    profile = db.session.get(RegistrarProfile, wang.id)
    assert profile.photo_type == "image/jpeg" and not old.exists()


def test_photo_upload_is_validated(client, offices, login, tmp_path):
    wang = create_user("wang", "registrar", "password-123", "chuanshan", "王登记")
    li = create_user("li", "registrar", "password-123", "anju", "李登记")
    login("admin", "chuanshan")
    for payload, name, message in ((b"<script>alert(1)</script>", "evil.png",
                                    "只能上传 JPEG、PNG 或 WebP 格式的照片"),
                                   (PNG + b"\x00" * 5000, "big.png", "照片太大"),
                                   (b"", "empty.png", "照片文件是空的")):
        response = client.post(f"/staff/registrars/{wang.id}", data={
            "staff_number": "SN-1", "on_duty": "y", "photo": (io.BytesIO(payload), name)},
            content_type="multipart/form-data", follow_redirects=True)
        assert message in response.get_data(as_text=True), name
    assert db.session.get(RegistrarProfile, wang.id) is None  # nothing saved, not even the number
    assert not (tmp_path / "uploads" / "registrars").exists() or not any(
        (tmp_path / "uploads" / "registrars").iterdir())
    assert client.post(f"/staff/registrars/{li.id}", data={"staff_number": "X"}).status_code == 403


class TestEnglishCatalogue:
    """With the project's English catalogue (translations/en), the public pages have no
    Chinese left but the office's own data."""

    @pytest.fixture(autouse=True)
    def fresh_translations(self, app):
        # flask_babel keeps loaded catalogues in one process-wide cache: start and end clean
        from flask_babel import get_domain

        get_domain().cache.clear()
        yield
        get_domain().cache.clear()

    def test_public_pages_in_english(self, page, offices, client):
        import re

        from tests.feedback.conftest import pair_tablet

        office = offices["chuanshan"]
        client.set_cookie("lang", "en")
        pair_tablet(office, "1", client)  # the tablet page opens only on a paired tablet
        for path in ("/info/chuanshan", "/suggestions", "/suggestions/counts",
                     "/rate/chuanshan/1"):
            main = page(path).split('<main id="main">')[1].split("</main>")[0]
            for own in (office.phone, office.supervision_phone, office.jurisdiction):
                main = main.replace(own, "")
            assert re.findall(r"[\u4e00-\u9fff]+", main) == [], path
