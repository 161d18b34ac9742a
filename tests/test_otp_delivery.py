"""Sending one-time codes: through the channel chain, or Twilio Verify with the chain behind it."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from atende.db.models import Message, OneTimeCode, Person
from atende.demo import load_demo_people
from atende.ivr.wiring import build_flow_deps
from atende.services.bundle import Services
from atende.services.otp import OneTimeCodes, VerifyStatus
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
    return build_flow_deps(services).codes


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
