"""Three atende nodes on one PostgreSQL, a hundred calls spread over them, one node killed with
SIGKILL in the middle (issue 12's "several nodes share one PostgreSQL with nothing lost when one
dies").

Each node is a real ``atende serve`` on its own loopback address with its own data directory
and node name, as on three hosts. Calls come from the fake Asterisk, spread over the nodes as
a dialplan with several ``AGI()`` hosts does; a call placed on the dead node goes to the next
one (what ``hagi://`` with DNS SRV records does). Protocol messages go to a webhook gateway,
tickets to a Zammad stand-in, both local servers written from their documented contracts.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from atende.agi.emulator import AsteriskEmulator
from atende.bootstrap import build_services
from atende.config import Settings
from atende.db.engine import normalize_url
from atende.db.migrate import upgrade
from atende.db.scratch import create_scratch_database, drop_scratch_database
from atende.demo import load_demo_people
from atende.runtime import build_runtime
from cli_runner import ServedAtende, served_atende
from fakes import gateway, zammad
from fakes.http_fake import FakeServer
from ura_harness import ScriptedCaller

SERVER = os.environ.get("ATENDE_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SERVER, reason="needs ATENDE_TEST_POSTGRES_URL (PostgreSQL)"),
]

NODES = 3
CALLS = 100
LAUNCH_EVERY_S = 0.08  # calls start over 8 s; the node dies in the first seconds
KILLED = 0  # the node that dies
CLOSED_WITHIN_S = 30.0  # the issue: a survivor closes the dead node's calls within 30 s
SETTLE_S = 90.0  # messages and pushes retried after the kill: generous on a shared machine
TICKET = [
    ("abrir um chamado", "1"),
    ("Você é Maria da Silva", "1"),
    ("tipo de serviço", "3"),
    ("Impressoras", "1"),
]
PROTOCOL = "ouvir o número novamente"


@pytest.fixture
def database() -> Iterator[str]:
    assert SERVER is not None
    url = create_scratch_database(SERVER)
    try:
        upgrade(url)
        yield url
    finally:
        drop_scratch_database(SERVER, url)


def test_three_nodes_one_killed_mid_load_lose_nothing(database: str, tmp_path: Path) -> None:
    runtime = build_runtime(Settings(data_dir=tmp_path / "setup", database_url=database))
    load_demo_people(build_services(runtime).people)
    runtime.engine.dispose()
    engine = create_engine(normalize_url(database))
    webhook_state, zammad_state = gateway.GatewayState(), zammad.ZammadState()
    with ExitStack() as stack:
        webhook = stack.enter_context(FakeServer(gateway.gateway_app(webhook_state)))
        helpdesk = stack.enter_context(FakeServer(zammad.zammad_app(zammad_state)))
        env = {
            "ATENDE_DATABASE_URL": database,
            "ATENDE_OTP": "never",
            "ATENDE_AUDIO_PERSONAL_TRANSCRIPTS": "true",  # the scripted callers read names
            "ATENDE_MESSAGING": "webhook",
            "ATENDE_WEBHOOK_URL": f"{webhook.url}/api/send-message",
            "ATENDE_WEBHOOK_SECRET": gateway.SECRET,
            "ATENDE_HELPDESK": "zammad",
            "ATENDE_HELPDESK_URL": helpdesk.url,
            "ATENDE_HELPDESK_TOKEN": zammad.API_TOKEN,
        }
        nodes = [  # one after another: the first start of an installation makes its admin token
            stack.enter_context(
                served_atende(
                    tmp_path / f"node-{n}",
                    host=f"127.0.0.{2 + n}",
                    ATENDE_NODE_NAME=f"node-{n}",
                    **env,
                )
            )
            for n in range(NODES)
        ]
        killed_at, finished = asyncio.run(_load_with_a_death(nodes, engine))
        dead_node_calls = _calls_of(engine, "node-0")

        # Calls on the surviving nodes (and those moved to them) went to the end, no error.
        survivors_calls = [caller for node, caller in finished if node != KILLED]
        assert len(survivors_calls) >= CALLS * (NODES - 1) // NODES
        for caller in survivors_calls:
            assert not caller.unexpected and PROTOCOL in " ".join(caller.prompts), caller.prompts

        # The dead node's calls are closed by a survivor within 30 s of its death.
        _wait_until(
            lambda: all(outcome for outcome in _calls_of(engine, "node-0").values()),
            CLOSED_WITHIN_S - (time.monotonic() - killed_at),
            "the dead node's calls closed by a survivor",
        )
        closed = _calls_of(engine, "node-0")
        assert set(closed) == set(dead_node_calls) and closed
        assert set(closed.values()) <= {"interrupted", "ticket_opened"}
        assert "interrupted" in closed.values()  # it really died with calls in progress

        # Every ticket: one protocol number, one message delivered, one Zammad ticket.
        tickets = _tickets(engine)
        _wait_until(
            lambda: _all_delivered_and_pushed(engine, len(tickets)),
            SETTLE_S,
            "every protocol message sent and every ticket pushed",
        )
        sequence = sorted(int(protocol[4:10]) for protocol in tickets)  # YYYY, 6 digits, check
        assert sequence == list(range(1, len(tickets) + 1))  # none repeated, none skipped
        # One message per protocol, as a gateway that honours Idempotency-Key delivers it (a
        # node killed between the gateway's answer and marking it sent has it sent again,
        # under the same key).
        keys = defaultdict(set)
        for request in webhook_state.requests:
            (protocol,) = [p for p in tickets if p in request["message"]]
            keys[protocol].add(request["headers"].get("idempotency-key"))
        assert {protocol: len(k) for protocol, k in keys.items()} == dict.fromkeys(tickets, 1)
        titles = [t["title"] for t in zammad_state.tickets.values()]
        pushed = [protocol for title in titles for protocol in tickets if protocol in title]
        assert sorted(pushed) == sorted(tickets)  # each ticket in Zammad exactly once
    engine.dispose()


async def _load_with_a_death(
    nodes: list[ServedAtende], engine: Engine
) -> tuple[float, list[tuple[int, ScriptedCaller]]]:
    """Place the calls a few at a time, round robin; once the doomed node has calls in
    progress and tickets opened, SIGKILL it. Returns when it died and each call that went to
    its end, with the node that served it."""
    doomed = nodes[KILLED].process
    finished: list[tuple[int, ScriptedCaller]] = []

    async def one_call(number: int) -> None:
        await asyncio.sleep(number * LAUNCH_EVERY_S)  # a steady stream of new calls
        for hop in range(NODES):
            n = (number + hop) % NODES
            caller = ScriptedCaller(list(TICKET))
            emulator = AsteriskEmulator(
                nodes[n].agi_port,
                f"127.0.0.{2 + n}",
                on_prompt=caller,
                callerid="2001",
                uniqueid=f"1795300000.{number}",
                command_delay=0.05,  # the prompts take a moment to play
            )
            try:
                await emulator.run(timeout=60)
            except ConnectionRefusedError:
                continue  # that node is down: the next AGI host takes the call
            assert not emulator.errors, emulator.errors
            if PROTOCOL in " ".join(caller.prompts):
                finished.append((n, caller))
            else:
                assert n == KILLED, f"a call on node-{n} did not finish: {caller.prompts}"
            return
        raise AssertionError("no node took the call")

    async def kill_mid_load() -> float:
        while not _in_progress_with_tickets(engine, "node-0"):
            await asyncio.sleep(0.05)
        doomed.send_signal(signal.SIGKILL)
        return time.monotonic()

    killer = asyncio.create_task(kill_mid_load())
    await asyncio.gather(*(one_call(number) for number in range(CALLS)))
    assert killer.done(), "node-0 never had calls in progress with tickets opened"
    killed_at = killer.result()
    doomed.wait(timeout=10)
    return killed_at, finished


def _in_progress_with_tickets(engine: Engine, node: str) -> bool:
    with engine.connect() as connection:
        open_calls, tickets = connection.execute(
            text(
                "SELECT count(*) FILTER (WHERE c.ended_at IS NULL),"
                " count(t.id) FROM calls c JOIN processes p ON p.id = c.owner_id"
                " LEFT JOIN tickets t ON t.call_id = c.id WHERE p.node = :node"
            ),
            {"node": node},
        ).one()
    return bool(open_calls >= 2 and tickets >= 1)


def _calls_of(engine: Engine, node: str) -> dict[str, str | None]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT c.uniqueid, c.outcome FROM calls c"
                " JOIN processes p ON p.id = c.owner_id WHERE p.node = :node"
            ),
            {"node": node},
        )
        return {uniqueid: outcome for uniqueid, outcome in rows}


def _tickets(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT protocol FROM tickets")).scalars())


def _all_delivered_and_pushed(engine: Engine, tickets: int) -> bool:
    with engine.connect() as connection:
        sent = connection.execute(
            text("SELECT count(*) FROM messages WHERE kind = 'protocol' AND status = 'sent'")
        ).scalar_one()
        linked = connection.execute(
            text("SELECT count(*) FROM external_tickets WHERE state = 'linked'")
        ).scalar_one()
    return bool(sent == tickets and linked == tickets)


def _wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds:.0f} s: {what}"
        time.sleep(0.2)
