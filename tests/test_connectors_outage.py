"""Nothing lost: the helpdesk (a GLPI stand-in) goes down during 100 phone tickets, part of them
real calls through the fake Asterisk, and comes back; every ticket ends up there exactly once,
each with its protocol, and each linked back to it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from atende.demo import load_demo_people
from atende.services.bundle import Services
from atende.services.helpdesk_push import MAX_RETRY
from atende.services.tickets import NewTicket, TicketFilter
from fakes.glpi import APP_TOKEN, USER_TOKEN, GlpiState, glpi_app
from fakes.http_fake import FakeServer
from ura_harness import ScriptedCaller, place_call, running_ura

PRINTER_ITEM = 10  # Tabela 1: Impressoras / Instalar impressora (menu 3, 1)


class Clock:
    """The runtime's clock, moved by the test instead of waiting for retry delays."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def phone_caller() -> ScriptedCaller:
    return ScriptedCaller(
        [
            ("abrir um chamado", "1"),
            ("Você é Maria da Silva", "1"),
            ("tipo de serviço", "3"),
            ("serviço de Impressoras", "1"),
            ("ouvir o número novamente", None),
        ]
    )


def test_helpdesk_outage_during_100_phone_tickets_loses_and_doubles_none(
    make_services: Callable[..., Services],
) -> None:
    state = GlpiState()
    glpi = FakeServer(glpi_app(state)).start()
    services = make_services(
        otp="never",
        helpdesk="glpi",
        helpdesk_url=glpi.url,
        helpdesk_token=USER_TOKEN,
        glpi_app_token=APP_TOKEN,
        connector_timeout=5,
        breaker_failures=3,
    )
    load_demo_people(services.people)
    clock = Clock()
    services.runtime.clock = clock
    connectors = services.helpdesk
    calls: list[ScriptedCaller] = []

    async def phone_calls(server_port: int, first: int, count: int) -> None:
        callers = [phone_caller() for _ in range(count)]
        calls.extend(callers)
        await asyncio.gather(
            *(
                place_call(server_port, caller, callerid="2001", uniqueid=f"1795.{first + n}")
                for n, caller in enumerate(callers)
            )
        )

    def service_tickets(count: int) -> None:  # the entry the flow uses, without the audio
        for _ in range(count):
            services.tickets.open(
                NewTicket(person_code="1002", item_id=PRINTER_ITEM, channel="phone"), "ura"
            )

    async def scenario() -> list[int]:
        pushed = []
        async with running_ura(services) as (server, _):
            await phone_calls(server.port, 0, 10)
            await asyncio.to_thread(service_tickets, 20)
            pushed.append(await connectors.push_due())  # helpdesk up: these 30 arrive

            glpi.stop()  # the outage
            await phone_calls(server.port, 10, 10)
            await asyncio.to_thread(service_tickets, 20)
            pushed.append(await connectors.push_due())
            breaker_after_failures = connectors.breaker.state
            await asyncio.to_thread(service_tickets, 10)
            pushed.append(await connectors.push_due())  # breaker open: not even tried
            assert breaker_after_failures == "open"

            glpi.start()  # back, but its proxy loses the answers of the first two creations
            state.lose_answers = 2
            await phone_calls(server.port, 20, 10)
            await asyncio.to_thread(service_tickets, 20)
            for _ in range(12):
                clock.advance(MAX_RETRY)
                pushed.append(await connectors.push_due())
        return pushed

    try:
        pushed = asyncio.run(scenario())
    finally:
        glpi.stop()

    assert all(c.unexpected == [] and c.steps == [] for c in calls)
    assert pushed[:3] == [30, 0, 0] and sum(pushed) == 100
    assert state.lose_answers == 0  # both lost answers happened, and were found again
    tickets, _ = services.tickets.list(TicketFilter(limit=200))
    assert len(tickets) == 100 and sum(t.call_id is not None for t in tickets) == 30
    in_glpi = [re.search(r"protocolo (\d+)", t["name"]).group(1) for t in state.tickets.values()]
    assert sorted(in_glpi) == sorted(t.protocol for t in tickets)  # each exactly once
    for ticket in tickets:
        link = connectors.link_of(ticket.id)
        assert link is not None and link.state == "linked"
        assert ticket.protocol in state.tickets[int(link.external_id)]["name"]
