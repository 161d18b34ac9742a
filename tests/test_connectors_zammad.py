"""Zammad: tickets and customers through its REST API stand-in, the phone flow with
ATENDE_HELPDESK=zammad, and the URA's calls in Zammad's caller log (generic CTI API)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

from atende.connectors.http_base import Timeouts
from atende.connectors.ports import ConnectorError, DirectoryEntry
from atende.connectors.zammad import ZammadHelpdesk
from atende.demo import load_demo_people
from atende.domain.ticket_status import TicketStatus
from atende.services.bundle import Services
from atende.services.tickets import NewTicket, TicketFilter
from connector_samples import ticket_draft
from fakes.http_fake import FakeServer
from fakes.zammad import API_TOKEN, CTI_TOKEN, ZammadState, zammad_app
from ura_harness import ScriptedCaller, place_call, running_ura

JOAO = DirectoryEntry(code="1002", name="João Pereira", phone="+5545999990002")


@pytest.fixture
def zammad() -> Iterator[tuple[ZammadState, FakeServer]]:
    state = ZammadState()
    with FakeServer(zammad_app(state)) as server:
        yield state, server


def test_customer_is_created_once_and_tickets_found_by_our_protocol(zammad) -> None:
    state, server = zammad
    helpdesk = ZammadHelpdesk(server.url, API_TOKEN, "Users", Timeouts(5.0))

    async def scenario() -> tuple:
        first = await helpdesk.open_ticket(ticket_draft(JOAO, "20260000041"))
        second = await helpdesk.open_ticket(ticket_draft(JOAO, "20260000059"))
        found = await helpdesk.find_ticket(ticket_draft(JOAO, "20260000059"))
        missing = await helpdesk.find_ticket(ticket_draft(JOAO, "20260000067"))
        state.tickets[int(first.id)]["state_id"] = 3
        status = await helpdesk.ticket_status(first, JOAO)
        listed = await helpdesk.list_tickets(JOAO)
        return first, second, found, missing, status, listed

    first, second, found, missing, status, listed = asyncio.run(scenario())
    [customer] = state.users.values()
    assert (customer["login"], customer["firstname"], customer["lastname"]) == (
        "1002",
        "João",
        "Pereira",
    )
    assert {t["customer_id"] for t in state.tickets.values()} == {customer["id"]}
    assert first.number == state.tickets[int(first.id)]["number"]
    assert state.tickets[int(first.id)]["article"]["type"] == "phone"
    assert found == second and missing is None
    assert (status.raw, status.status) == ("pending reminder", TicketStatus.WAITING)
    assert [s.ref for s in listed] == [first, second]


def test_bad_token_and_unknown_group_are_permanent_errors(zammad) -> None:
    state, server = zammad
    with pytest.raises(ConnectorError) as refused:
        asyncio.run(
            ZammadHelpdesk(server.url, "nope", "Users", Timeouts(5.0)).open_ticket(
                ticket_draft(JOAO, "1")
            )
        )
    assert not refused.value.retryable and "HTTP 401 Invalid token!" in str(refused.value)
    wrong_group = ZammadHelpdesk(server.url, API_TOKEN, "Suporte", Timeouts(5.0))
    with pytest.raises(ConnectorError) as rejected:
        asyncio.run(wrong_group.open_ticket(ticket_draft(JOAO, "1")))
    assert not rejected.value.retryable and "HTTP 422" in str(rejected.value)
    assert state.tickets == {}


def test_phone_calls_reach_zammad_tickets_and_its_caller_log(
    make_services: Callable[..., Services], zammad
) -> None:
    state, server = zammad
    services = make_services(
        otp="never",
        helpdesk="zammad",
        helpdesk_url=server.url,
        helpdesk_token=API_TOKEN,
        zammad_cti_token=CTI_TOKEN,
    )
    load_demo_people(services.people)
    opening = ScriptedCaller(
        [
            ("abrir um chamado", "1"),
            ("Você é João Pereira", "1"),
            ("tipo de serviço", "3"),
            ("serviço de Impressoras", "1"),
            ("ouvir o número novamente", None),
        ]
    )

    async def scenario() -> None:
        async with running_ura(services) as (agi, _):
            await place_call(agi.port, opening, callerid="2002", uniqueid="1795.20")
            await services.helpdesk.push_due()
            await services.helpdesk.call_log.idle()

    asyncio.run(scenario())
    assert opening.unexpected == []
    [ticket] = services.tickets.list(TicketFilter(person_code="1002"))[0]
    [zammad_ticket] = state.tickets.values()
    assert ticket.protocol in zammad_ticket["title"]
    link = services.helpdesk.link_of(ticket.id)
    assert (link.external_id, link.external_ref) == ("1", zammad_ticket["number"])
    events = [(e["event"], e["callId"], e["from"]) for e in state.cti_events]
    assert events == [
        ("newCall", "1795.20", "2002"),
        ("answer", "1795.20", "2002"),
        ("hangup", "1795.20", "2002"),
    ]
    assert state.cti_events[-1]["cause"] == "normalClearing"


def test_a_ticket_zammad_refuses_stays_with_us_with_the_error(
    make_services: Callable[..., Services], zammad
) -> None:
    state, server = zammad
    services = make_services(
        helpdesk="zammad", helpdesk_url=server.url, helpdesk_token=API_TOKEN, zammad_group="TI"
    )
    load_demo_people(services.people)
    ticket, _ = services.tickets.open(NewTicket(person_code="1002", item_id=10), "test")
    assert asyncio.run(services.helpdesk.push_due()) == 0
    link = services.helpdesk.link_of(ticket.id)
    assert link.state == "failed" and "HTTP 422" in (link.error or "")
    assert services.tickets.get(ticket.protocol).status == "open"

    state.groups.add("TI")  # the integrator creates the group in Zammad, then retries
    assert services.helpdesk.pusher.retry_failed() == 1
    assert asyncio.run(services.helpdesk.push_due()) == 1
    assert [t["group"] for t in state.tickets.values()] == ["TI"]
