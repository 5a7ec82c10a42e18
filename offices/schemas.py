"""The answers of GET /offices and GET /services (docs/development.md "API schemas")."""

from pydantic import Field

from core.schemas import Answer


class OfficeOut(Answer):
    code: str = Field(description="the office's code, used in every other path")
    name: str
    address: str
    phone: str
    timezone: str = Field(description="IANA time zone, e.g. Asia/Shanghai")
    services: list[str] = Field(description="codes of the services it offers, in order")


class OfficeList(Answer):
    offices: list[OfficeOut]


class ServiceOut(Answer):
    code: str
    name: str
    name_en: str
    applicants: int = Field(ge=1, le=2, description="how many people apply together (at most)")
    min_applicants: int = Field(ge=1, le=2, description=(
        "the fewest a booking may name: counselling (婚姻家庭辅导) takes one person or a "
        "couple; every other service exactly `applicants`"))
    documents: list[str] = Field(description="what to bring (mainland residents), in the "
                                             "request's language")
    documents_by_party: dict[str, list[str]] = Field(
        description="what to bring by kind of party: mainland, hk_macau, taiwan, "
                    "overseas_chinese, foreigner (each with a mainland partner where a "
                    "marriage needs one)")


class ServiceList(Answer):
    services: list[ServiceOut]
