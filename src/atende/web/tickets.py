"""The ticket queue (live: its rows are fetched again every few seconds) and the ticket page,
where a member changes the status (only the allowed next ones), assignee and notes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from atende.domain.ticket_status import ALLOWED_TRANSITIONS, TicketStatus
from atende.services.errors import NotFound, ServiceError
from atende.services.tickets import CHANNELS
from atende.web.queries import (
    TicketQuery,
    parse_day,
    parse_id,
    ticket_call,
    ticket_messages,
)
from atende.web.security import FormMember, Member, actor, services_of
from atende.web.templating import done, error_text, not_found, render

router = APIRouter(include_in_schema=False)

REFRESH_SECONDS = 5
FILTERS = ("status", "category", "item", "person", "from", "to", "channel", "q")


def _query(request: Request) -> TicketQuery:
    params = request.query_params
    return TicketQuery(
        status=params.get("status", "") if params.get("status") in set(TicketStatus) else "",
        category_id=parse_id(params.get("category")),
        item_id=parse_id(params.get("item")),
        person_code=params.get("person", "").strip(),
        first_day=parse_day(params.get("from")),
        last_day=parse_day(params.get("to")),
        channel=params.get("channel", "") if params.get("channel") in CHANNELS else "",
        search=params.get("q", ""),
    )


def _filters(request: Request) -> dict[str, str]:
    return {name: request.query_params.get(name, "") for name in FILTERS}


@router.get("/")
def queue(request: Request, member: Member) -> Response:
    services = services_of(request)
    tickets = _query(request).run(services.runtime)
    return render(
        request,
        "tickets.html",
        {
            "tickets": tickets,
            "since": max((ticket.id for ticket in tickets), default=0),
            "filters": _filters(request),
            "statuses": list(TicketStatus),
            "channels": CHANNELS,
            "catalog": services.catalog.tree(),
            "refresh": REFRESH_SECONDS,
        },
    )


@router.get("/tickets/rows")
def queue_rows(request: Request, member: Member) -> Response:
    """The queue's rows alone, for the page's polling (rows newer than ``since`` stand out)."""
    tickets = _query(request).run(services_of(request).runtime)
    since = parse_id(request.query_params.get("since")) or 0
    return render(request, "ticket_rows.html", {"tickets": tickets, "since": since})


def _ticket_page(request: Request, protocol: str, error: str = "", status: int = 200) -> Response:
    services = services_of(request)
    try:
        ticket = services.tickets.get(protocol)
    except NotFound:
        return not_found(request)
    current = TicketStatus(ticket.status)
    return render(
        request,
        "ticket.html",
        {
            "ticket": ticket,
            "next_statuses": sorted(ALLOWED_TRANSITIONS[current], key=list(TicketStatus).index),
            "members": [user for user in services.users.list() if user.active],
            "messages": ticket_messages(services.runtime, ticket.id),
            "call": ticket_call(services.runtime, ticket.call_id),
            "recordings": services.recordings.of_ticket(ticket),
            "error": error,
        },
        status,
    )


@router.get("/tickets/{protocol}")
def ticket_page(request: Request, protocol: str, member: Member) -> Response:
    return _ticket_page(request, protocol)


@router.post("/tickets/{protocol}")
def change_ticket(
    request: Request,
    protocol: str,
    member: FormMember,
    status: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    assignee: Annotated[str | None, Form()] = None,
) -> Response:
    services = services_of(request)
    try:
        current = services.tickets.get(protocol)
        new_status = TicketStatus(status) if status in set(TicketStatus) else None
        if assignee is not None and assignee == (current.assignee or ""):
            assignee = None  # unchanged
        services.tickets.change(
            protocol,
            actor=actor(member),
            status=new_status if new_status != TicketStatus(current.status) else None,
            note=note.strip(),
            assignee=assignee,
        )
    except NotFound:
        return not_found(request)
    except ServiceError as exc:
        return _ticket_page(request, protocol, error_text(request, exc), exc.status)
    return done(f"/tickets/{protocol}", "ticket_saved")
