"""A call's record survives the process that serves it: steps stored as they happen, and the
calls of a process that died closed by its next start or, on another node, by any live one."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.orm import Session

from atende.agi.emulator import AsteriskEmulator
from atende.db.models import Call, Message, Process, utcnow
from atende.demo import load_demo_people
from atende.services.bundle import Services
from atende.services.call_owners import CallOwners
from atende.services.calls import CallChange, CallView, NewCall, StepRecord
from atende.services.tickets import NewTicket
from cli_runner import served_atende
from e2e.site import ADMIN, browser_like, dashboard
from ura_harness import ScriptedCaller, place_call, running_ura

MakeServices = Callable[..., Services]

MAIN = "abrir um chamado"
MARIA = "Você é Maria da Silva"
PROTOCOL = "ouvir o número novamente"
NOT_RUNNING = 2**22 + 1  # above Linux's largest pid_max: no process has it
WAIT_S = 20.0  # generous: the machine is shared; nothing here measures speed


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"still not true after {WAIT_S} s: {what}"
        time.sleep(0.05)


def steps_of(services: Services, uniqueid: str) -> list[str]:
    with services.runtime.sessions() as session:
        call = session.scalar(select(Call).where(Call.uniqueid == uniqueid))
        return [] if call is None else [e.step for e in call.events]


def test_steps_are_in_the_database_while_the_call_goes_on(make_services: MakeServices) -> None:
    services = make_services(otp="never")
    load_demo_people(services.people)
    uniqueid = "1795228819.41"

    async def scenario() -> list[str]:
        listening = asyncio.Event()
        hang_up = asyncio.get_running_loop().create_future()

        async def thinks_about_the_name() -> str:  # the caller pauses at "Você é Maria?"
            listening.set()
            return await hang_up

        caller = ScriptedCaller([(MAIN, "1"), (MARIA, thinks_about_the_name)])
        async with running_ura(services) as (server, _):
            call = asyncio.create_task(
                place_call(server.port, caller, callerid="2001", uniqueid=uniqueid)
            )
            await listening.wait()
            wanted = ["greeting", "main_menu", "identify_to_open", "verify_code"]
            await asyncio.to_thread(
                wait_for, lambda: steps_of(services, uniqueid) == wanted, "steps stored"
            )
            during = steps_of(services, uniqueid)
            hang_up.set_result("2")
            await call
        return during

    assert asyncio.run(scenario()) == ["greeting", "main_menu", "identify_to_open", "verify_code"]
    assert services.calls.get(uniqueid).outcome == "declined"


def _steps(call_id: int, *names: str) -> list[tuple[int, CallChange]]:
    return [(call_id, StepRecord(name, utcnow())) for name in names]


def start_call(services: Services, call: NewCall) -> CallView:
    services.calls.begin(call)
    return services.calls.get(call.uniqueid)


def open_ticket(services: Services, call_id: int) -> int:
    """A ticket opened by a phone call as a version that queued no message with it did."""
    item = services.catalog.tree()[2].items[0]
    ticket, _ = services.tickets.open(
        NewTicket("1001", item.id, channel="phone", call_id=call_id), actor="ura"
    )
    return ticket.id


def protocol_messages(services: Services, ticket_id: int) -> int:
    with services.runtime.sessions() as session:
        query = select(Message.id).where(Message.ticket_id == ticket_id, Message.kind == "protocol")
        return len(session.scalars(query).all())


def test_a_restart_closes_its_dead_runs_calls_and_queues_missing_protocols_once(
    make_services: MakeServices,
) -> None:
    services = make_services()
    load_demo_people(services.people)
    owners = CallOwners(services.runtime)
    dead = owners.register("node-a", pid=NOT_RUNNING)
    cut = start_call(services, NewCall("1795228819.51", "2001", "SIP/2001-1", dead))
    services.calls.record_many(_steps(cut.id, "answered", "category"))
    with_ticket = start_call(services, NewCall("1795228819.52", "2001", "SIP/2001-2", dead))
    ticket_id = open_ticket(services, with_ticket.id)
    sibling = owners.register("node-a", pid=os.getppid())  # a live process of this node
    kept = start_call(services, NewCall("1795228819.53", "2001", "SIP/2001-3", sibling))

    restarted = owners.register("node-a", pid=os.getpid())
    assert owners.close_previous_runs(restarted) == 2
    assert owners.close_previous_runs(restarted) == 0  # nothing twice
    assert owners.close_stale() == 0  # both owners' heartbeats are fresh: nothing else

    closed = services.calls.get(cut.uniqueid)
    assert (closed.outcome, closed.last_step) == ("interrupted", "category")
    assert closed.ended_at is not None and closed.events[-1].step == "interrupted"
    assert services.calls.get(with_ticket.uniqueid).outcome == "ticket_opened"
    assert protocol_messages(services, ticket_id) == 1
    assert services.calls.get(kept.uniqueid).ended_at is None


def test_a_stale_owners_calls_are_closed_and_a_live_owners_are_not(
    make_services: MakeServices,
) -> None:
    services = make_services()
    load_demo_people(services.people)
    owners = CallOwners(services.runtime)
    elsewhere = owners.register("node-b", pid=os.getpid())
    call = start_call(services, NewCall("1795228819.61", "2001", "SIP/2001-1", elsewhere))
    ticket_id = open_ticket(services, call.id)
    assert owners.close_stale() == 0
    assert owners.close_previous_runs(owners.register("node-c", pid=1)) == 0  # another node

    later = services.runtime.clock() + timedelta(
        seconds=services.runtime.settings.owner_stale_after
    )
    services.runtime.clock = lambda: later + timedelta(seconds=1)  # node-b stopped beating
    rivals = [CallOwners(services.runtime) for _ in range(4)]

    async def recover_together() -> list[int]:
        return await asyncio.gather(*(asyncio.to_thread(r.close_stale) for r in rivals))

    assert sorted(asyncio.run(recover_together())) == [0, 0, 0, 1]
    assert services.calls.get(call.uniqueid).outcome == "ticket_opened"
    assert protocol_messages(services, ticket_id) == 1


def test_the_dashboard_names_interrupted_calls_in_portuguese(make_services: MakeServices) -> None:
    services = make_services()
    owners = CallOwners(services.runtime)
    call = start_call(
        services, NewCall("1795228819.81", "2001", "SIP/2001-1", owners.register("a", NOT_RUNNING))
    )
    services.calls.record_many(_steps(call.id, "answered", "main_menu"))
    owners.close_previous_runs(owners.register("a", pid=os.getpid()))

    with dashboard(services) as base_url, browser_like(base_url, ADMIN) as admin:
        listed = admin.get("/calls", params={"outcome": "interrupted"}).text
        detail = admin.get(f"/calls/{call.uniqueid}").text
    assert listed.count("interrompida por falha do sistema") == 2  # the filter and the call
    assert "o serviço parou durante a ligação" in detail and "Menu principal" in detail


# -- a real process killed with SIGKILL ----------------------------------------------------------


def open_calls(engine: Engine) -> dict[str, tuple[str | None, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT uniqueid, outcome, last_step FROM calls"))
        return {uniqueid: (outcome, step) for uniqueid, outcome, step in rows}


def test_calls_of_a_killed_process_are_closed_by_its_next_start(tmp_path: Path) -> None:
    env = {
        "ATENDE_NODE_NAME": "node-a",
        "ATENDE_OTP": "never",
        "ATENDE_OWNER_STALE_AFTER": "300",
        "ATENDE_AUDIO_PERSONAL_TRANSCRIPTS": "true",  # the scripted caller reads what it hears
    }
    engine = create_engine(f"sqlite:///{tmp_path / 'atende.db'}")
    with served_atende(tmp_path, **env) as first:

        def kill() -> None:
            first.process.send_signal(signal.SIGKILL)
            first.process.wait(timeout=10)

        asyncio.run(_calls_left_hanging(first.agi_port, engine, kill))
    assert {outcome for outcome, _ in open_calls(engine).values()} == {None}
    other_nodes(engine)

    with served_atende(tmp_path, **env):
        wait_for(lambda: open_calls(engine)["stale-node"][0] is not None, "stale node's call")
        wait_for(lambda: open_calls(engine)["1795228819.72"][0] is not None, "own calls closed")
    calls = open_calls(engine)
    assert calls["1795228819.71"] == ("interrupted", "confirm_person")
    assert calls["1795228819.72"] == ("ticket_opened", "read_ticket_protocol")
    assert calls["stale-node"] == ("interrupted", "main_menu")
    with engine.connect() as connection:
        kinds = connection.execute(text("SELECT kind FROM messages")).scalars().all()
    assert kinds == ["protocol"]  # queued with the ticket, not again by the recovery
    engine.dispose()


def other_nodes(engine: Engine) -> None:
    """A call of a node that stopped beating ten minutes ago. (A live node's calls are left
    alone: test_a_stale_owners_calls_are_closed_and_a_live_owners_are_not; on SQLite a live
    node elsewhere would stop ``atende serve`` from starting at all: test_single_node.py.)"""
    now = utcnow()
    with Session(engine) as session, session.begin():
        for node, beat in (("stale", now - timedelta(minutes=10)),):
            process = Process(node=node, pid=1, started_at=beat, heartbeat_at=beat)
            session.add(process)
            session.flush()
            uniqueid = f"{node}-node"
            session.add(Call(uniqueid=uniqueid, owner_id=process.id, last_step="main_menu"))


async def _calls_left_hanging(port: int, engine: Engine, kill: Callable[[], None]) -> None:
    """Two calls in progress: one at the category menu, one hearing its new protocol; once both
    are stored that far, ``kill`` the process serving them, then hang up (hanging up first, the
    process could close them as abandoned before it died)."""
    silent = asyncio.get_running_loop().create_future()  # callers who never press a key

    def hold() -> asyncio.Future[str]:
        return silent

    ticket = [(MAIN, "1"), (MARIA, "1"), ("tipo de serviço", "3"), ("Impressoras", "1")]
    callers = {
        "1795228819.71": ScriptedCaller([(MAIN, "1"), (MARIA, "1"), ("tipo de serviço", hold)]),
        "1795228819.72": ScriptedCaller([*ticket, (PROTOCOL, hold)]),
    }
    calls = [
        asyncio.create_task(
            AsteriskEmulator(port, on_prompt=caller, callerid="2001", uniqueid=uniqueid).run(None)
        )
        for uniqueid, caller in callers.items()
    ]
    wanted = {"1795228819.71": "confirm_person", "1795228819.72": "read_ticket_protocol"}

    def stored() -> bool:
        current = open_calls(engine)
        return all(current.get(u, (None, None))[1] == step for u, step in wanted.items())

    await asyncio.to_thread(wait_for, stored, "both calls stored as far as they went")
    await asyncio.to_thread(kill)
    for call in calls:
        call.cancel()
    await asyncio.gather(*calls, return_exceptions=True)
