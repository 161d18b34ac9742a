"""A caller turned away over ``ATENDE_AGI_MAX_CALLS`` hears the busy message and is still
recorded as a call (outcome ``busy``), so the team sees how many callers never got in."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from atende.services.bundle import Services
from atende.services.calls import Outcome
from ura_harness import HANGUP, ScriptedCaller, place_call, running_ura

MakeServices = Callable[..., Services]


def test_a_call_over_the_cap_hears_busy_and_is_recorded(make_services: MakeServices) -> None:
    services = make_services(agi_max_calls=1)
    second_done = asyncio.Event()
    played: list[str] = []

    async def hold_the_line() -> str:
        await second_done.wait()
        return HANGUP

    async def scenario() -> None:
        async with running_ura(services) as (server, _):
            first = asyncio.create_task(
                place_call(
                    server.port,
                    ScriptedCaller([("abrir um chamado", hold_the_line)]),
                    uniqueid="1795228819.1",
                )
            )
            while server.active_calls < 1:
                await asyncio.sleep(0.01)
            await place_call(
                server.port,
                ScriptedCaller([]),
                uniqueid="1795228819.2",
                callerid="5545999990002",
                on_play=played.append,
            )
            second_done.set()
            await first

    asyncio.run(scenario())

    assert [Path(f"{name}.txt").read_text(encoding="utf-8") for name in played] == [
        "Todas as nossas linhas estão ocupadas. Por favor, ligue novamente em instantes."
    ]
    refused = services.calls.get("1795228819.2")
    assert refused.outcome == Outcome.BUSY
    assert refused.caller_id == "5545999990002"
    assert refused.ended_at is not None
    assert services.calls.get("1795228819.1").outcome == Outcome.ABANDONED
