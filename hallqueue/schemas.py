"""The hall's API: tickets, windows, the display and a ticket's status (docs/development.md
"API schemas")."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Field, RootModel, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from core.schemas import HHMM, NOT_BLANK, Absent, Answer, Body, Query, Says, no_default
from hallqueue.models import REFUSAL_REASONS

TicketStatusName = Literal["waiting", "called", "completed", "no_show"]
GIVE_ONE = "give either appointment (a code or ID number) or service"


def _one_of(*names: str) -> dict:
    return {"oneOf": [{"required": [name], "properties": {
        name: {"type": "string", "pattern": NOT_BLANK}}} for name in names]}


# --- requests --------------------------------------------------------------------------------

class TicketRequestBody(Body):
    """Exactly one of `appointment` and `service` (not blank)."""

    model_config = Body.model_config | {
        "json_schema_extra": _one_of("appointment", "service")}

    appointment: str | None = Field(
        None, max_length=64,
        description="check-in: the appointment's code, or an applicant's ID number")
    service: str | None = Field(None, max_length=32, description="a walk-in: the service code")
    # The items are checked by hallqueue.tickets.clean_present (its own codes: 422
    # invalid_id_number for a malformed number): the model checks that it is a list.
    present: Annotated[list[Any], Says("present must be a list of ID numbers"), WithJsonSchema({
        "type": "array", "maxItems": 4, "items": {"type": "string"},
        "description": "the ID numbers presented at the desk, one per applicant present "
                       "(不到场不办); 5 to 32 letters and digits once spaces and brackets are "
                       "removed; an 18-character number must have a valid check character"})
    ] = Field(default_factory=list)
    priority: Annotated[Literal["normal", "green"], Says("priority must be normal or green")] = Field(
        "normal", description="green: 绿色通道 (elderly, pregnant, disabled, military), called "
                              "before every other waiting ticket of its service")
    green_channel: Annotated[bool, Says("green_channel must be true or false")] = Field(
        False, description="the same as priority green (the older name)")
    phone: str | None = Field(
        None, max_length=32,
        description="a walk-in's mobile for SMS: E.164, or an 11-digit mainland mobile")
    language: Annotated[Literal["zh_CN", "en"], Says("language must be zh_CN or en")] = Field(
        "zh_CN", description="of the SMS")

    @model_validator(mode="after")
    def _appointment_or_service(self):
        if bool((self.appointment or "").strip()) == bool((self.service or "").strip()):
            raise PydanticCustomError("one_of", GIVE_ONE)
        return self


class Registered(Body):
    outcome: Literal["registered"]
    reason: Literal[""] | None = Field(None, description="only for a refusal")


class Refused(Body):
    outcome: Literal["refused"]
    reason: Literal[REFUSAL_REASONS] = Field(description="one of the 五不办, already_married or prohibited_kinship")  # type: ignore[valid-type]


class Completion(RootModel[Annotated[Registered | Refused, Field(discriminator="outcome")]]):
    """Registered, or refused with a reason (checked by hallqueue.calling.complete)."""


class Transfer(Body):
    """Another service, one window, or both (checked by hallqueue.calling.transfer): the
    service must be offered by the office, the window must serve it."""

    model_config = Body.model_config | {"json_schema_extra": {"anyOf": [
        {"required": [name], "properties": {name: {"type": "string", "minLength": 1}}}
        for name in ("service", "window")]}}

    service: str | None = Field(None, description="a service code of the office")
    window: str | None = Field(None, description="a window number of the office")


class Requeued(Answer):
    status: Literal["waiting"]
    ahead: int = Field(ge=0, description="people ahead: at most the office's requeue_after")


class DisplayQuery(Query):
    view: str | Absent = Field(None, json_schema_extra=no_default, description=(
        "screen: also the last ten calls with the words spoken, the services' names and "
        "their order (the hall screen); any other value is the plain state"))


class TicketQuery(Query):
    view: str | Absent = Field(None, json_schema_extra=no_default, description=(
        "page: also the window, the office's and the service's names, the date and when "
        "it was issued (the status page); any other value is the plain status"))


# --- answers ---------------------------------------------------------------------------------

class IssuedTicket(Answer):
    id: int
    token: str = Field(description="the ticket's status page: GET /tickets/{token}")
    number: str = Field(description="e.g. J001")
    service: str
    status: TicketStatusName
    ahead: int = Field(ge=0, description="people ahead in the queue")


class CalledTicket(Answer):
    id: int
    number: str
    service: str
    status: TicketStatusName
    window: str | None


class Called(Answer):
    ticket: CalledTicket


class CompletedTicket(CalledTicket):
    outcome: Literal["registered", "refused"]
    reason: Literal[REFUSAL_REASONS] | None  # type: ignore[valid-type]


class Completed(Answer):
    ticket: CompletedTicket


class WindowState(Answer):
    window: str
    paused: bool


class Call(Answer):
    window: str
    number: str
    called_at: dt.datetime
    call_id: int | Absent = Field(None, json_schema_extra=no_default,
                                  description="view=screen only")
    service: str | Absent = Field(None, json_schema_extra=no_default,
                                  description="view=screen only")


class SpokenCall(Answer):
    id: int
    window: str
    number: str
    kind: Literal["call", "recall"]
    called_at: dt.datetime
    text: str = Field(description="the words spoken (Mandarin)")


class ServiceOnScreen(Answer):
    name: str
    prefix: str


class DisplayState(Answer):
    """No personal data: numbers, windows, counts and times."""

    office: str
    calling: list[Call] = Field(description="each window's current call, newest first")
    waiting: dict[str, Annotated[int, Field(ge=0)]] = Field(
        description="tickets waiting, by service code")
    notices: list[str]
    open_until: HHMM | None
    extended: bool
    office_name: str | Absent = Field(None, json_schema_extra=no_default,
                                      description="view=screen only")
    date: dt.date | Absent = Field(None, json_schema_extra=no_default,
                                description="view=screen only")
    history: list[SpokenCall] | Absent = Field(None, json_schema_extra=no_default,
                                               description="view=screen only")
    services: dict[str, ServiceOnScreen] | Absent = Field(
        None, json_schema_extra=no_default, description="view=screen only")
    service_order: list[str] | Absent = Field(None, json_schema_extra=no_default,
                                              description="view=screen only")


class TicketStatus(Answer):
    number: str
    service: str
    status: TicketStatusName
    ahead: int = Field(ge=0)
    estimated_wait_minutes: int = Field(ge=0)
    service_name: str | Absent = Field(None, json_schema_extra=no_default,
                                       description="view=page only")
    office: str | Absent = Field(None, json_schema_extra=no_default,
                                 description="view=page only")
    office_name: str | Absent = Field(None, json_schema_extra=no_default,
                                      description="view=page only")
    date: dt.date | Absent = Field(None, json_schema_extra=no_default,
                                description="view=page only")
    window: Annotated[str | None, WithJsonSchema({
        "type": ["string", "null"], "description": "view=page only: the window calling it"})
    ] = None
    issued_at: dt.datetime | Absent = Field(None, json_schema_extra=no_default,
                                         description="view=page only")
