"""osTicket: tickets created through its API key stand-in; status answers say clearly that
osTicket cannot report status (its API has no such call)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from urllib.parse import unquote

import pytest

from atende.demo import load_demo_people
from atende.services.bundle import Services
from atende.services.people import PersonData
from atende.services.tickets import NewTicket, TicketFilter
from connector_samples import spoken
from fakes.http_fake import FakeServer
from fakes.osticket import API_KEY, OsTicketState, osticket_app
from ura_harness import ScriptedCaller, call_ura


@pytest.fixture
def osticket() -> Iterator[tuple[OsTicketState, FakeServer]]:
    state = OsTicketState()
    with FakeServer(osticket_app(state)) as server:
        yield state, server


def osticket_services(make: Callable[..., Services], server: FakeServer, key: str) -> Services:
    services = make(
        otp="never",
        helpdesk="osticket",
        helpdesk_url=server.url,
        helpdesk_token=key,
        helpdesk_categories="3.1=7",
    )
    load_demo_people(services.people)
    return services


def test_phone_ticket_reaches_osticket_and_status_says_it_cannot_be_read(
    make_services: Callable[..., Services], osticket
) -> None:
    state, server = osticket
    services = osticket_services(make_services, server, API_KEY)
    opening = ScriptedCaller(
        [
            ("abrir um chamado", "1"),
            ("Você é Maria da Silva", "1"),
            ("tipo de serviço", "3"),
            ("serviço de Impressoras", "1"),
            ("ouvir o número novamente", None),
        ]
    )
    call_ura(services, opening, callerid="2001", uniqueid="1795.30")
    assert opening.unexpected == []
    [ticket] = services.tickets.list(TicketFilter(person_code="1001"))[0]
    assert asyncio.run(services.helpdesk.push_due()) == 1
    [(number, sent)] = state.tickets.items()
    assert sent["source"] == "Phone" and sent["topicId"] == 7
    assert (sent["name"], sent["email"], sent["autorespond"]) == (
        "Maria da Silva",
        "maria@example.org",
        True,
    )
    assert ticket.protocol in unquote(sent["message"])

    played: list[str] = []
    asking = ScriptedCaller(
        [("abrir um chamado", "2"), ("número do protocolo", ticket.protocol + "#")]
    )
    call_ura(services, asking, callerid="2001", uniqueid="1795.31", on_play=played.append)
    said = spoken(played)
    assert f"com o número {number}" in said[-2]
    assert "não informa a situação do chamado por telefone" in said[-2]


def test_wrong_api_key_and_validation_errors_keep_the_ticket_with_us(
    make_services: Callable[..., Services], osticket
) -> None:
    state, server = osticket
    services = osticket_services(make_services, server, "not-the-key")
    ticket, _ = services.tickets.open(NewTicket(person_code="1001", item_id=10), "test")
    asyncio.run(services.helpdesk.push_due())
    link = services.helpdesk.link_of(ticket.id)
    assert (
        link.state == "failed"
        and link.error == "osticket open_ticket: HTTP 401 API key not authorized"
    )
    assert state.tickets == {}
    answer = asyncio.run(services.helpdesk.status(services.tickets.get(ticket.protocol)))
    assert answer.readable and answer.status.value == "open"  # our record answers alone


def test_a_person_without_email_is_sent_with_an_address_that_receives_nothing(
    make_services: Callable[..., Services], osticket
) -> None:
    state, server = osticket
    services = osticket_services(make_services, server, API_KEY)
    services.people.create(PersonData(code="1009", name="Rui Costa"))
    services.tickets.open(NewTicket(person_code="1009", item_id=10), "test")
    assert asyncio.run(services.helpdesk.push_due()) == 1
    [sent] = state.tickets.values()
    assert (sent["email"], sent["autorespond"]) == ("1009@sem-email.invalid", False)
