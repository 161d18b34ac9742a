"""/api/v1/tickets and /api/v1/protocols: what callers asked for, with traceable numbers."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Header, Query, Response, status

from atende.api.deps import Reader, ServicesDep, Writer, actor
from atende.api.responses import error_responses
from atende.api.schemas import ProtocolIn, ProtocolOut, TicketIn, TicketOut, TicketPage, TicketPatch
from atende.db.ids import RowId
from atende.domain.ticket_status import TicketStatus
from atende.services.tickets import NewTicket, TicketFilter

router = APIRouter(tags=["tickets"])


@router.post(
    "/tickets",
    status_code=status.HTTP_201_CREATED,
    response_model=TicketOut,
    responses={
        200: {"description": "A retry with the same Idempotency-Key: the same ticket"},
        **error_responses(404, 409),  # no such person or item; key reused, person inactive
    },
)
def open_ticket(
    body: TicketIn,
    response: Response,
    services: ServicesDep,
    token: Writer,
    idempotency_key: str | None = Header(
        None, alias="Idempotency-Key", min_length=1, max_length=128
    ),
) -> TicketOut:
    ticket, created = services.tickets.open(
        NewTicket(**body.model_dump(), idempotency_key=idempotency_key), actor=actor(token)
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/tickets/{ticket.protocol}"
    return TicketOut.of(ticket)


@router.get("/tickets", response_model=TicketPage)
def list_tickets(
    services: ServicesDep,
    _: Reader,
    person_code: str | None = None,
    status: TicketStatus | None = None,
    item_id: RowId | None = None,
    created_from: datetime | None = Query(None, examples=["2026-11-01T00:00:00-03:00"]),
    created_to: datetime | None = None,
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = None,
) -> TicketPage:
    rows, next_cursor = services.tickets.list(
        TicketFilter(person_code, status, item_id, created_from, created_to, limit, cursor)
    )
    return TicketPage(items=[TicketOut.of(t) for t in rows], next_cursor=next_cursor)


@router.get("/tickets/{protocol}", response_model=TicketOut)
def read_ticket(protocol: str, services: ServicesDep, _: Reader) -> TicketOut:
    return TicketOut.of(services.tickets.get(protocol))


@router.patch("/tickets/{protocol}", response_model=TicketOut, responses=error_responses(409))
def change_ticket(
    protocol: str, body: TicketPatch, services: ServicesDep, token: Writer
) -> TicketOut:
    ticket = services.tickets.change(
        protocol, actor=actor(token), status=body.status, note=body.note, assignee=body.assignee
    )
    return TicketOut.of(ticket)


@router.post(
    "/protocols",
    status_code=status.HTTP_201_CREATED,
    response_model=ProtocolOut,
    tags=["protocols"],
    responses=error_responses(404),  # no such person or ticket
)
def issue_protocol(body: ProtocolIn, services: ServicesDep, _: Writer) -> ProtocolOut:
    return ProtocolOut.of(services.protocols.issue(**body.model_dump()))


@router.get("/protocols/{number}", response_model=ProtocolOut, tags=["protocols"])
def read_protocol(number: str, services: ServicesDep, _: Reader) -> ProtocolOut:
    return ProtocolOut.of(services.protocols.get(number))
