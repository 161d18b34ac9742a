"""Sending one-time codes: through the channel chain, or Twilio Verify with the chain behind it."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from sqlalchemy import Engine, select

from atende.db.models import Message, OneTimeCode, Person
from atende.demo import load_demo_people
from atende.services.bundle import Services
from atende.services.otp import OneTimeCodes, VerifyResult, VerifyStatus
from fakes import twilio
from fakes.http_fake import FakeServer

MakeServices = Callable[..., Services]
MARIA = "+5545999990001"


def code_in_outbox(services: Services) -> str:
    outbox = services.runtime.settings.data_dir / "outbox.jsonl"
    (line,) = [json.loads(x) for x in outbox.read_text().splitlines()]
    return re.search(r"\d{6}", line["text"]).group()  # type: ignore[union-attr]


def codes_for(services: Services) -> OneTimeCodes:
    load_demo_people(services.people)
    return services.codes


Verified = tuple[twilio.TwilioState, Services, OneTimeCodes, Person]


@pytest.fixture
def verified(make_services: MakeServices) -> Iterator[Verified]:
    """Codes that go through Twilio Verify (a stand-in), the chain behind being the outbox."""
    state = twilio.TwilioState()
    with FakeServer(twilio.twilio_app(state)) as server:
        settings = twilio.settings_for(server.url)
        del settings["messaging"], settings["twilio_from"]
        services = make_services(**settings, twilio_verify_service=twilio.SERVICE_SID)
        codes = codes_for(services)
        yield state, services, codes, services.people.get("1001")


def test_a_code_goes_through_the_chain_with_its_template(make_services: MakeServices) -> None:
    services = make_services()
    codes = codes_for(services)
    maria = services.people.get("1001")

    asyncio.run(codes.send(maria))

    code = code_in_outbox(services)
    with services.runtime.sessions() as session:
        row = session.scalars(select(Message)).one()
    assert (row.template, row.template_fields) == ("otp_message", {"code": "******"})
    assert asyncio.run(codes.check(maria, code)).ok


def test_twilio_verify_sends_and_checks_the_code(verified: Verified) -> None:
    state, services, codes, maria = verified

    asyncio.run(codes.send(maria))
    code = state.code_sent_to(MARIA)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    first = asyncio.run(codes.check(maria, wrong))
    assert (first.status, first.attempts_left) == (VerifyStatus.WRONG, 2)
    assert asyncio.run(codes.check(maria, code)).ok
    assert asyncio.run(codes.check(maria, code)).status is VerifyStatus.NONE  # used up
    with services.runtime.sessions() as session:
        row = session.scalars(select(OneTimeCode)).one()
        assert row.sent_via == "twilio-verify" and row.used_at is not None
        assert session.scalars(select(Message)).all() == []  # Twilio sent it, not the chain


def test_when_verify_fails_the_chain_carries_a_code_of_ours(verified: Verified) -> None:
    state, services, codes, maria = verified
    state.fail(503, {"code": 20503, "message": "Service Unavailable", "status": 503})

    asyncio.run(codes.send(maria))

    code = code_in_outbox(services)
    assert asyncio.run(codes.check(maria, code)).ok  # checked here: Twilio never saw it
    assert state.verifications == {}


@dataclass
class TableHold:
    release: threading.Event = field(default_factory=threading.Event)
    released_in_time: bool = False  # by ``release``, not by the holder giving up


@contextmanager
def codes_locked(engine: Engine) -> Iterator[TableHold]:
    """Hold the one-time codes table from another connection until ``release`` is set (or 10
    seconds pass): every read and write of it waits meanwhile."""
    hold, held = TableHold(), threading.Event()

    def holder() -> None:
        with engine.connect() as connection, connection.begin():
            backend = engine.dialect.name
            if backend == "postgresql":
                connection.exec_driver_sql("LOCK TABLE one_time_codes IN ACCESS EXCLUSIVE MODE")
            elif backend in ("mysql", "mariadb"):
                connection.exec_driver_sql("LOCK TABLES one_time_codes WRITE")
            # On SQLite the open transaction holds the write gate, which readers take too.
            held.set()
            hold.released_in_time = hold.release.wait(timeout=10)
            if backend in ("mysql", "mariadb"):
                connection.exec_driver_sql("UNLOCK TABLES")

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait()
    try:
        yield hold
    finally:
        hold.release.set()
        thread.join()


HEARTBEATS = 5


@pytest.mark.parametrize("operation", ["send", "check"])
def test_twilio_verify_leaves_the_event_loop_free_while_the_database_waits(
    verified: Verified, operation: str
) -> None:
    """Every call of a FastAGI process shares one event loop: a one-time code waiting for a
    database lock must hold up its own call only, not a heartbeat running beside it."""
    state, services, codes, maria = verified
    asyncio.run(codes.send(maria))
    code = state.code_sent_to(MARIA)
    work: dict[str, Callable[[], Awaitable[object]]] = {
        "send": lambda: codes.send(maria),
        "check": lambda: codes.check(maria, code),
    }

    async def scenario() -> tuple[int, TableHold, object]:
        with codes_locked(services.runtime.engine) as hold:
            task = asyncio.ensure_future(work[operation]())
            beats = 0
            while beats < HEARTBEATS and not task.done():
                await asyncio.sleep(0.01)
                beats += 1
            hold.release.set()  # only a heartbeat that got its turns lets the table go
            return beats, hold, await task

    beats, hold, result = asyncio.run(scenario())
    assert (beats, hold.released_in_time) == (HEARTBEATS, True)
    assert result is None if operation == "send" else result == VerifyResult(VerifyStatus.OK)
