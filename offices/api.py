"""Public API: offices and services (docs/api.md §3)."""

from flask import Blueprint, current_app
from sqlalchemy import select

from core.extensions import db
from core.openapi import answers, spec
from offices.documents import MAINLAND, PARTY_KINDS, documents_for
from offices.models import Office, Service
from offices.schemas import OfficeList, ServiceList

blueprint = Blueprint("offices_api", __name__, url_prefix="/api/v1")


def office_json(office: Office) -> dict:
    return {"code": office.code, "name": office.name, "address": office.address,
            "phone": office.phone, "timezone": office.timezone,
            "services": office.service_codes}


@blueprint.get("/offices")
@spec.validate(resp=answers(HTTP_200=OfficeList), tags=["public"])
def list_offices():
    """The active offices."""
    offices = db.session.scalars(
        select(Office).where(Office.active.is_(True)).order_by(Office.id))
    return {"offices": [office_json(office) for office in offices]}


@blueprint.get("/services")
@spec.validate(resp=answers(HTTP_200=ServiceList), tags=["public"])
def list_services():
    """The services, in the configured order."""
    order = {item["code"]: i for i, item in enumerate(current_app.config["SERVICES"])}
    rows = sorted(db.session.scalars(select(Service)), key=lambda s: (order.get(s.code, 99), s.code))
    return {"services": [{"code": s.code, "name": s.name, "name_en": s.name_en,
                          "applicants": s.applicants, "min_applicants": s.min_applicants,
                          "documents": documents_for(s.code, [MAINLAND]),
                          "documents_by_party": {kind: documents_for(s.code, [kind])
                                                 for kind in PARTY_KINDS}}
                         for s in rows]}

