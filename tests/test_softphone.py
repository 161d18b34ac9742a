"""``atende call`` and ``atende asterisk-config``: what a newcomer and an integrator touch first."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from atende.demo import load_demo_people
from atende.services.bundle import Services
from atende.services.tickets import TicketFilter
from atende.softphone import Softphone
from cli_runner import run_atende
from ura_harness import running_ura


def test_softphone_opens_a_ticket_with_typed_keys(make_services: Callable[..., Services]) -> None:
    services = make_services(otp="never")
    load_demo_people(services.people)
    # Every prompt listens: nothing at the greeting, then open, "sou eu", Impressoras,
    # Instalar, and nothing more (no repeat, no key at the goodbye).
    typed = iter(["", "1", "1", "3", "1"])
    screen: list[str] = []
    phone = Softphone(read_line=lambda prompt: next(typed, ""), write=screen.append)

    async def scenario() -> None:
        async with running_ura(services) as (server, _):
            await phone.call("127.0.0.1", server.port, "2001")

    asyncio.run(scenario())
    shown = "\n".join(screen)
    assert "Para abrir um chamado, tecle 1." in shown
    assert "Você é Maria da Silva?" in shown
    assert shown.rstrip().endswith("a URA desligou a chamada.")
    [ticket] = services.tickets.list(TicketFilter(person_code="1001"))[0]
    assert ticket.item.name == "Instalar impressora" and ticket.channel == "phone"
    assert " ".join(ticket.protocol[:4]) in shown  # the protocol was shown as it is spoken


def test_softphone_shows_the_hand_over_to_the_dialplan(
    make_services: Callable[..., Services],
) -> None:
    services = make_services()
    screen: list[str] = []
    phone = Softphone(read_line=lambda prompt: "0", write=screen.append)

    async def scenario() -> None:
        async with running_ura(services) as (server, _):
            await phone.call("127.0.0.1", server.port, None)

    asyncio.run(scenario())
    assert "from-internal,200,1" in screen[-1] and "ATENDE_PROTOCOL=" in screen[-1]


def test_call_without_a_running_urа_says_how_to_start_it(tmp_path: object) -> None:
    result = run_atende("call", "--port", "1", "--no-audio")
    assert result.returncode == 1
    assert "atende serve" in result.stderr


def test_asterisk_config_points_at_this_installation() -> None:
    result = run_atende("asterisk-config", "--host", "10.0.0.5", "--extension", "4000")
    assert result.returncode == 0
    assert "AGI(agi://10.0.0.5:4573/ura)" in result.stdout
    assert "exten => 4000,1,Goto(atende-ura,s,1)" in result.stdout
