"""No ID number in plain text: not in any table's text column, not in any response, not in
the logs."""

import json
import logging

from sqlalchemy import select

from booking.models import Applicant
from core.extensions import db
from core.privacy import decrypt
from tests.booking.helpers import MONDAY, TUESDAY, couple, payload, person
from tests.booking.ids import make_id


def _all_text_in_the_database() -> list[str]:
    texts = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)).mappings():
            for value in row.values():
                if isinstance(value, str):
                    texts.append(value)
                elif isinstance(value, dict | list):
                    texts.append(json.dumps(value, ensure_ascii=False))
    return texts


def test_no_id_number_in_the_database_responses_or_logs(client, booking_env, caplog,
                                                        staff_headers):
    caplog.set_level(logging.DEBUG)
    marriage = couple()
    cross_border = [
        {"name": "陈大文", "id_type": "hk_macau_permit", "id_number": "H87654321",
         "phone": "+85291234567", "sex": "M", "birth_date": "1990-01-01"},
        {"name": "Anna Schmidt", "id_type": "passport", "id_number": "C4X9K2L7P",
         "phone": "+491701234567", "sex": "F", "birth_date": "1991-03-04"},
    ]
    foreigner = {"name": "John Smith", "id_type": "foreign_permanent_resident",
                 "id_number": make_id("19800101", "M", area="933840"), "phone": "13700137000"}
    permit = {"name": "林志明", "id_type": "resident_id",
              "id_number": make_id("19850101", "M", area="830000"), "phone": "13600136000"}
    bride = person("王芳", "F", "19930303")
    numbers = [a["id_number"] for a in marriage + cross_border + [foreigner, permit, bride]]

    responses = []
    first = client.post("/api/v1/appointments", json=payload(applicants=marriage))
    # a marriage needs a mainland resident; two cross-border people may divorce here
    second = client.post("/api/v1/appointments", json=payload(
        office="suining", service="divorce", applicants=cross_border))
    third = client.post("/api/v1/appointments", json=payload(
        office="suining", service="reissue", applicants=[foreigner]))
    fourth = client.post("/api/v1/appointments", json=payload(
        office="suining", start="10:00", applicants=[permit, bride]))
    for response in (first, second, third, fourth):
        assert response.status_code == 201, response.get_json()
        responses.append(response)
    token = first.get_json()["token"]
    responses.append(client.post(f"/api/v1/appointments/{token}/reschedule",
                                 json={"date": TUESDAY, "start": "10:00"}))
    responses.append(client.get(f"/api/v1/appointments/{token}"))
    responses.append(client.get(f"/a/{token}"))
    responses.append(client.get(f"/a/{token}/print"))
    responses.append(client.get(f"/a/{token}/calendar.ics"))
    responses.append(client.post("/api/v1/appointments", json=payload(applicants=marriage)))
    responses.append(client.get(f"/api/v1/offices/suining/appointments?date={MONDAY}",
                                headers=staff_headers("admin")))
    responses.append(client.post("/api/v1/offices/suining/appointments/search",
                                 json={"query": cross_border[1]["id_number"]},
                                 headers=staff_headers("admin")))
    responses.append(client.post(f"/api/v1/appointments/{token}/cancel"))
    assert responses[-1].status_code == 200

    bodies = [r.get_data(as_text=True) for r in responses]
    database = _all_text_in_the_database()
    logs = caplog.text
    for number in numbers:
        for variant in {number, number.lower()}:
            assert not any(variant in text for text in database), f"{number} in the database"
            assert not any(variant in body for body in bodies), f"{number} in a response"
            assert variant not in logs, f"{number} in the logs"

    # …but they are there, encrypted, for the desk's check-in view
    stored = {decrypt(a.id_number_enc) for a in db.session.scalars(select(Applicant))}
    assert stored == set(numbers)
