"""Published flows as callers meet them (issue 11), through the FastAGI socket: a version
published during a call is heard by the next call while the first finishes on its own; a
dialled number's route chooses the flow whatever the path; an unknown path is refused cleanly;
a custom flow's recording is attached to the ticket it opens and plays on its dashboard page."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
import yaml
from sqlalchemy import Engine, select

from atende.db.models import Call
from atende.flows.loader import SHIPPED
from atende.services.bundle import Services
from cli_runner import run_atende
from conftest import services_on
from e2e.site import TECHNICIAN, browser_like, dashboard
from ura_harness import ScriptedCaller, call_ura, place_call, running_ura

MakeServices = Callable[..., Services]
MAIN = "abrir um chamado"
REWORDED = "Para registrar um problema, tecle 1. Para falar com um atendente, tecle 3."
REASONS = "autorização de procedimentos"


def ti_with_main_menu(words: str) -> str:
    document = yaml.safe_load((SHIPPED / "ti.yaml").read_text(encoding="utf-8"))
    document["texts"]["main_menu"] = words
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def flow_of(services: Services, uniqueid: str) -> tuple[str | None, int | None]:
    with services.runtime.sessions() as session:
        call = session.scalar(select(Call).where(Call.uniqueid == uniqueid))
        assert call is not None
        return call.flow_name, call.flow_version


def test_a_flow_published_during_a_call_is_heard_by_the_next_call_only(
    make_services: MakeServices,
) -> None:
    services = make_services()

    async def scenario() -> tuple[ScriptedCaller, ScriptedCaller]:
        at_menu = asyncio.Event()
        go_on = asyncio.get_running_loop().create_future()

        def thinks() -> asyncio.Future[str]:  # the first caller pauses at the main menu
            at_menu.set()
            return go_on

        first = ScriptedCaller([(MAIN, thinks), ("Para abrir", None), (MAIN, "3")])
        second = ScriptedCaller([("registrar um problema", "3")])
        async with running_ura(services) as (server, _):
            held = asyncio.create_task(place_call(server.port, first, uniqueid="1795.1"))
            await at_menu.wait()
            await asyncio.to_thread(
                services.flows.publish, ti_with_main_menu(REWORDED), "api:test", "menu"
            )
            await place_call(server.port, second, uniqueid="1795.2")
            go_on.set_result("9")  # "ouvir novamente": the menu again, in the old words
            await held
        return first, second

    first, second = asyncio.run(scenario())
    assert first.unexpected == [] and first.steps == []
    assert second.unexpected == [] and second.steps == []
    assert not any("registrar um problema" in p for p in first.prompts)
    assert sum(MAIN in p for p in first.prompts) >= 2  # before and after the publication
    assert not any(MAIN in p for p in second.prompts)
    assert flow_of(services, "1795.1") == ("ti", 1)
    assert flow_of(services, "1795.2") == ("ti", 2)
    assert services.calls.get("1795.1").outcome == services.calls.get("1795.2").outcome
    with dashboard(services) as base_url, browser_like(base_url, TECHNICIAN) as member:
        listed = member.get("/calls").text
        assert "ti · versão 1" in listed and "ti · versão 2" in listed
        assert "ti · versão 2" in member.get("/calls/1795.2").text


def test_a_dialled_number_route_chooses_the_flow_on_the_ura_path(
    cli_env: dict[str, str], shared_engine: Engine
) -> None:
    routed = run_atende("flows", "route", "4001", "plano-de-saude", **cli_env)
    assert routed.returncode == 0, routed.stderr
    services = services_on(cli_env, shared_engine)
    routed_caller = ScriptedCaller([(REASONS, "0")])
    other_caller = ScriptedCaller([(MAIN, "3")])

    async def scenario() -> None:
        async with running_ura(services) as (server, _):
            await place_call(server.port, routed_caller, dnid="4001", uniqueid="1795.3")
            await place_call(server.port, other_caller, dnid="4002", uniqueid="1795.4")

    asyncio.run(scenario())
    for caller in (routed_caller, other_caller):
        assert caller.unexpected == [] and caller.steps == []
    assert flow_of(services, "1795.3") == ("plano-de-saude", 1)
    assert flow_of(services, "1795.4") == ("ti", 1)  # no route: ATENDE_FLOW's


def test_an_unknown_path_is_refused_with_one_warning_and_no_call_record(
    make_services: MakeServices, caplog: pytest.LogCaptureFixture
) -> None:
    services = make_services()
    caller = ScriptedCaller([])

    with caplog.at_level(logging.INFO, logger="atende"):
        fake = call_ura(services, caller, script="vendas")
    assert fake.hung_up_by == "server" and caller.prompts == []
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        f"call {fake.uniqueid} asked for unknown FastAGI script 'vendas'"
    ]
    assert not any("dialplan" in r.getMessage() for r in caplog.records)
    with services.runtime.sessions() as session:
        assert session.scalars(select(Call)).all() == []
