"""GLPI: the adapter against a GLPI stand-in over HTTP, and the phone flow opening and reading
tickets there (ATENDE_HELPDESK=glpi)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

from atende.connectors.glpi import GlpiHelpdesk
from atende.connectors.http_base import Timeouts
from atende.connectors.ports import ConnectorError, DirectoryEntry
from atende.demo import load_demo_people
from atende.domain.ticket_status import TicketStatus
from atende.services.bundle import Services
from atende.services.tickets import NewTicket, TicketFilter
from connector_samples import spoken, ticket_draft
from fakes.glpi import APP_TOKEN, USER_TOKEN, GlpiState, glpi_app
from fakes.http_fake import FakeServer
from ura_harness import ScriptedCaller, call_ura

MAIN = "abrir um chamado"
MARIA = "Você é Maria da Silva"

MARIA_ENTRY = DirectoryEntry(code="1001", name="Maria da Silva", phone="+5545999990001")


@pytest.fixture
def glpi() -> Iterator[tuple[GlpiState, FakeServer]]:
    state = GlpiState()
    state.add_user("1001", "Maria da Silva")
    with FakeServer(glpi_app(state)) as server:
        yield state, server


def adapter(server: FakeServer, user_token: str = USER_TOKEN) -> GlpiHelpdesk:
    return GlpiHelpdesk(server.url, user_token, APP_TOKEN, Timeouts(5.0))


def test_ticket_created_with_requester_and_category_in_one_reused_session(glpi) -> None:
    state, server = glpi
    helpdesk = adapter(server)

    async def scenario() -> tuple:
        ref = await helpdesk.open_ticket(
            ticket_draft(MARIA_ENTRY, category_ref="12", description="Aberto pela URA")
        )
        status = await helpdesk.ticket_status(ref, MARIA_ENTRY)
        listed = await helpdesk.list_tickets(MARIA_ENTRY)
        await helpdesk.close()
        return ref, status, listed

    ref, status, listed = asyncio.run(scenario())
    ticket = state.tickets[int(ref.id)]
    assert ticket["name"] == "Instalar impressora (protocolo 20260000017)"
    assert "Protocolo atende: 20260000017" in ticket["content"]
    assert ticket["itilcategories_id"] == 12
    assert ticket["_users_id_requester"] == 2  # the GLPI user whose login is Maria's code
    assert (status.raw, status.status) == ("1", TicketStatus.OPEN)
    assert [s.ref.id for s in listed] == [ref.id]
    assert state.logins == 1  # one session for every call
    assert len(state.killed) == 1 and state.sessions == set()  # killSession on close


def test_expired_session_is_renewed_once_and_statuses_map_1_to_6(glpi) -> None:
    state, server = glpi
    helpdesk = adapter(server)
    expected = {
        1: TicketStatus.OPEN,
        2: TicketStatus.IN_PROGRESS,
        3: TicketStatus.IN_PROGRESS,
        4: TicketStatus.WAITING,
        5: TicketStatus.RESOLVED,
        6: TicketStatus.CLOSED,
    }

    async def scenario() -> dict[int, TicketStatus | None]:
        ref = await helpdesk.open_ticket(ticket_draft(MARIA_ENTRY))
        seen = {}
        for glpi_status in expected:
            state.tickets[int(ref.id)]["status"] = glpi_status
            state.expire_sessions()  # GLPI's PHP session ran out between two calls
            seen[glpi_status] = (await helpdesk.ticket_status(ref, MARIA_ENTRY)).status
        return seen

    assert asyncio.run(scenario()) == expected
    assert state.logins == 1 + len(expected)


def test_refused_user_token_is_a_permanent_error_naming_glpi_code(glpi) -> None:
    state, server = glpi
    with pytest.raises(ConnectorError) as refused:
        asyncio.run(
            adapter(server, user_token="wrong").open_ticket(
                ticket_draft(MARIA_ENTRY, category_ref="12", description="Aberto pela URA")
            )
        )
    assert not refused.value.retryable
    assert "HTTP 401 ERROR_GLPI_LOGIN_USER_TOKEN" in str(refused.value)
    assert state.tickets == {}


def test_glpi_down_is_a_retryable_error(glpi) -> None:
    _, server = glpi
    server.stop()
    with pytest.raises(ConnectorError) as down:
        asyncio.run(
            adapter(server).open_ticket(
                ticket_draft(MARIA_ENTRY, category_ref="12", description="Aberto pela URA")
            )
        )
    assert down.value.retryable


def glpi_services(make_services: Callable[..., Services], server: FakeServer) -> Services:
    services = make_services(
        otp="never",
        helpdesk="glpi",
        helpdesk_url=server.url,
        helpdesk_token=USER_TOKEN,
        glpi_app_token=APP_TOKEN,
        helpdesk_categories="3.1=12",
    )
    load_demo_people(services.people)
    return services


def test_phone_ticket_goes_to_glpi_and_its_status_is_read_back_by_our_protocol(
    make_services: Callable[..., Services], glpi
) -> None:
    state, server = glpi
    services = glpi_services(make_services, server)
    opening = ScriptedCaller(
        [
            (MAIN, "1"),
            (MARIA, "1"),
            ("tipo de serviço", "3"),
            ("serviço de Impressoras", "1"),
            ("ouvir o número novamente", None),
        ]
    )
    call_ura(services, opening, callerid="2001", uniqueid="1795228819.1")
    assert opening.unexpected == []
    [ticket] = services.tickets.list(TicketFilter(person_code="1001"))[0]
    before = services.helpdesk.link_of(ticket.id)
    assert before is not None and before.state == "pending" and state.tickets == {}

    assert asyncio.run(services.helpdesk.push_due()) == 1
    [(glpi_id, glpi_ticket)] = state.tickets.items()
    assert ticket.protocol in glpi_ticket["name"] and glpi_ticket["itilcategories_id"] == 12
    assert services.helpdesk.link_of(ticket.id).external_id == str(glpi_id)

    state.tickets[glpi_id]["status"] = 5  # solved in GLPI
    asking = ScriptedCaller(
        [
            (MAIN, "2"),
            ("número do protocolo", ticket.protocol + "#"),
        ]
    )
    played: list[str] = []
    call_ura(services, asking, callerid="2001", uniqueid="1795228819.2", on_play=played.append)
    assert asking.unexpected == []
    assert "O chamado de Instalar impressora" in spoken(played)[-2]
    assert spoken(played)[-2].endswith("está resolvido.")
    mirrored = services.tickets.get(ticket.protocol)
    assert mirrored.status == "resolved"
    assert mirrored.history[-1].actor == "helpdesk:glpi"


def test_status_falls_back_to_our_record_while_glpi_is_down(
    make_services: Callable[..., Services], glpi
) -> None:
    state, server = glpi
    services = glpi_services(make_services, server)
    ticket, _ = services.tickets.open(NewTicket(person_code="1001", item_id=10), "test")
    asyncio.run(services.helpdesk.push_due())
    state.tickets[1]["status"] = 2
    server.stop()
    answer = asyncio.run(services.helpdesk.status(services.tickets.get(ticket.protocol)))
    assert (answer.status, answer.external_number) == (TicketStatus.OPEN, "1")


def test_the_push_loop_sends_a_new_ticket_when_woken_not_at_its_next_round(
    make_services: Callable[..., Services], glpi
) -> None:
    state, server = glpi
    services = glpi_services(make_services, server)
    connectors = services.helpdesk

    async def scenario() -> str | None:
        loop = asyncio.create_task(connectors.run(interval=3600))  # as atende serve runs it
        await asyncio.sleep(0)  # its first (empty) round
        ticket, _ = await asyncio.to_thread(
            services.tickets.open, NewTicket(person_code="1001", item_id=10), "test"
        )
        connectors.push_soon()  # what the phone flow does after opening a ticket
        for _ in range(500):
            link = await asyncio.to_thread(connectors.link_of, ticket.id)
            if link is not None and link.state == "linked":
                break
            await asyncio.sleep(0.01)
        loop.cancel()
        await connectors.close()
        return link.external_id if link else None

    assert asyncio.run(scenario()) == "1"
    assert len(state.killed) == 1  # close() ends the GLPI session
