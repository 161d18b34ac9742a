"""Every phone call: who called, who they were, how it ended, how long it took, and its steps
(which menu, which key, where it ended), read from the record the phone flow keeps."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from atende.db.models import Call
from atende.services.calls import Outcome
from atende.web.queries import CallQuery, call_with_tickets, parse_day
from atende.web.security import Member, services_of
from atende.web.templating import not_found, render

router = APIRouter(include_in_schema=False)

# The filters the team asked for first, then every other outcome.
FIRST_OUTCOMES = (Outcome.ABANDONED, Outcome.TRANSFERRED, Outcome.TICKET_OPENED)
OUTCOMES = FIRST_OUTCOMES + tuple(o for o in Outcome if o not in FIRST_OUTCOMES)


def duration(call: Call) -> float | None:
    if call.ended_at is None:
        return None
    return (call.ended_at - call.started_at).total_seconds()


@router.get("/calls")
def calls_page(request: Request, member: Member) -> Response:
    params = request.query_params
    outcome = params.get("outcome", "")
    query = CallQuery(
        outcome=outcome if outcome in set(Outcome) else "",
        first_day=parse_day(params.get("from")),
        last_day=parse_day(params.get("to")),
        caller=params.get("caller", "").strip(),
    )
    return render(
        request,
        "calls.html",
        {
            "rows": query.run(services_of(request).runtime),
            "outcomes": OUTCOMES,
            "filters": {name: params.get(name, "") for name in ("outcome", "from", "to", "caller")},
            "duration": duration,
        },
    )


@router.get("/calls/{uniqueid}")
def call_page(request: Request, uniqueid: str, member: Member) -> Response:
    try:
        call, person, tickets = call_with_tickets(services_of(request).runtime, uniqueid)
    except LookupError:
        return not_found(request)
    return render(
        request,
        "call.html",
        {"call": call, "person": person, "tickets": tickets, "duration": duration(call)},
    )
