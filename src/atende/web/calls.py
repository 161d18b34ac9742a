"""Every phone call: who called, who they were, how it ended, how long it took, and its steps
(which node of the flow, which key, where it ended), read from the record the phone flow keeps;
and the callers' recorded messages, played to signed-in members only."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, Response

from atende.services.calls import CallView, Outcome
from atende.services.errors import NotFound
from atende.web.queries import CallQuery, call_with_tickets, parse_day, parse_id
from atende.web.security import Member, services_of
from atende.web.templating import not_found, render

router = APIRouter(include_in_schema=False)

# The filters the team asked for first, then every other outcome.
FIRST_OUTCOMES = (Outcome.ABANDONED, Outcome.TRANSFERRED, Outcome.TICKET_OPENED)
OUTCOMES = FIRST_OUTCOMES + tuple(o for o in Outcome if o not in FIRST_OUTCOMES)


def duration(call: CallView) -> float | None:
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
    recordings = services_of(request).recordings.of_call(call.id)
    return render(
        request,
        "call.html",
        {
            "call": call,
            "person": person,
            "tickets": tickets,
            "duration": duration(call),
            "recordings": recordings,
        },
    )


@router.get("/recordings/{recording_id}")
def recording(request: Request, recording_id: str, member: Member) -> Response:
    """A caller's message as WAV, for the page's audio player; never cached by others."""
    number = parse_id(recording_id)
    try:
        path = services_of(request).recordings.file(number) if number else None
    except NotFound:
        path = None
    if path is None:
        return not_found(request)
    return FileResponse(
        path, media_type="audio/wav", headers={"Cache-Control": "private, no-store"}
    )
