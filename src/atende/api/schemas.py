"""The JSON shapes of the REST API, with the examples Swagger UI shows.

Field names are a contract with integrators and the phone flow: change them only with a new
API version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from atende.db.ids import RowId
from atende.db.models import AttendanceProtocol
from atende.domain.ticket_status import TicketStatus
from atende.services.calls import CallView
from atende.services.tickets import TicketView

Channel = Literal["phone", "web", "api"]


class ErrorDetail(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["no person with code 1234"])
    field: str | None = Field(None, examples=["code"])


class ErrorOut(BaseModel):
    """Every error answer: branch on ``code``, show ``message``; ``field`` names the input."""

    error: ErrorDetail


class PersonIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "1234",
                    "name": "Maria da Silva",
                    "phone": "(45) 99999-1234",
                    "extensions": ["2201"],
                    "email": "maria@prefeitura.example",
                    "card_number": "0001234500012",
                    "cpf": "529.982.247-25",
                }
            ]
        },
    )

    code: str = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z._-]+$")
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = None
    extensions: list[str] = []
    email: str | None = Field(None, max_length=200)
    card_number: str | None = Field(None, max_length=32)
    cpf: str | None = None
    active: bool = True
    notifications_opt_out: bool = False  # no status-change messages


class PersonPatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"phone": "45988887777"}]}
    )

    name: str | None = Field(None, min_length=1, max_length=200)
    phone: str | None = None
    extensions: list[str] | None = None
    email: str | None = Field(None, max_length=200)
    card_number: str | None = Field(None, max_length=32)
    cpf: str | None = None
    active: bool | None = None
    notifications_opt_out: bool | None = None


class PersonOut(BaseModel):
    """A person as the people service gives them (``PersonOut.model_validate(view)``)."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    phone: str | None
    extensions: list[str]
    email: str | None
    card_number: str | None
    cpf: str | None
    active: bool
    notifications_opt_out: bool


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    name: str
    prompt: str


class CategoryOut(BaseModel):
    """A category with its items, as the catalog service gives it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    name: str
    prompt: str
    items: list[ItemOut]


class CatalogEntryIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"key": "7", "name": "Telefonia"}]}
    )

    key: str = Field(min_length=1, max_length=1)
    name: str = Field(min_length=1, max_length=100)
    prompt: str | None = Field(None, max_length=300)


class CatalogEntryPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str | None = Field(None, min_length=1, max_length=1)
    name: str | None = Field(None, min_length=1, max_length=100)
    prompt: str | None = Field(None, max_length=300)


class TicketIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"person_code": "1234", "item_id": 3, "description": "Não liga", "channel": "api"}
            ]
        },
    )

    person_code: str = Field(min_length=1, max_length=32)
    item_id: RowId
    description: str = Field("", max_length=5000)
    channel: Channel = "api"


class TicketPatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"status": "in_progress", "note": "Técnico a caminho"}]},
    )

    status: TicketStatus | None = None
    note: str = Field("", max_length=5000)
    assignee: str | None = Field(None, max_length=100)


class HistoryEntry(BaseModel):
    at: datetime
    actor: str
    from_status: str | None
    to_status: str
    note: str


class TicketOut(BaseModel):
    protocol: str
    person_code: str
    item_id: int
    item_name: str
    category_name: str
    description: str
    channel: str
    status: str
    assignee: str | None
    created_at: datetime
    updated_at: datetime
    history: list[HistoryEntry]

    @classmethod
    def of(cls, ticket: TicketView) -> TicketOut:
        return cls(
            protocol=ticket.protocol,
            person_code=ticket.person.code,
            item_id=ticket.item.id,
            item_name=ticket.item.name,
            category_name=ticket.item.category.name,
            description=ticket.description,
            channel=ticket.channel,
            status=ticket.status,
            assignee=ticket.assignee,
            created_at=ticket.created_at,
            updated_at=ticket.updated_at,
            history=[
                HistoryEntry(
                    at=e.at,
                    actor=e.actor,
                    from_status=e.from_status,
                    to_status=e.to_status,
                    note=e.note,
                )
                for e in ticket.history
            ],
        )


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None


class ProtocolIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"person_code": "1234", "reason": "Autorização de exame", "channel": "api"}
            ]
        },
    )

    person_code: str | None = Field(None, max_length=32)
    reason: str = Field("", max_length=5000)
    channel: Channel = "api"
    ticket_protocol: str | None = Field(None, max_length=32)


class ProtocolOut(BaseModel):
    number: str
    person_code: str | None
    ticket_protocol: str | None
    channel: str
    reason: str
    outcome: str | None
    created_at: datetime
    closed_at: datetime | None

    @classmethod
    def of(cls, protocol: AttendanceProtocol) -> ProtocolOut:
        return cls(
            number=protocol.number,
            person_code=protocol.person.code if protocol.person else None,
            ticket_protocol=protocol.ticket.protocol if protocol.ticket else None,
            channel=protocol.channel,
            reason=protocol.reason,
            outcome=protocol.outcome,
            created_at=protocol.created_at,
            closed_at=protocol.closed_at,
        )


class CallStep(BaseModel):
    seq: int
    at: datetime
    step: str
    detail: dict[str, object]


class CallOut(BaseModel):
    uniqueid: str
    caller_id: str | None
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None
    last_step: str | None
    survey_score: int | None
    steps: list[CallStep]

    @classmethod
    def of(cls, call: CallView, with_steps: bool = True) -> CallOut:
        return cls(
            uniqueid=call.uniqueid,
            caller_id=call.caller_id,
            started_at=call.started_at,
            ended_at=call.ended_at,
            outcome=call.outcome,
            last_step=call.last_step,
            survey_score=call.survey_score,
            steps=[
                CallStep(seq=e.seq, at=e.at, step=e.step, detail=e.detail)
                for e in (call.events if with_steps else [])
            ],
        )
