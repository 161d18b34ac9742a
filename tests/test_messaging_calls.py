"""Whole calls with real message channels: the one-time code and the protocol reach the caller
through local stand-ins of WhatsApp and Twilio, and a provider going down mid-run loses
nothing and is not noticed by the caller."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from atende.db.models import Message
from atende.demo import load_demo_people
from atende.services.bundle import Services
from atende.services.tickets import TicketFilter
from fakes import twilio, whatsapp
from fakes.http_fake import FakeServer
from ura_harness import ScriptedCaller, place_call, running_ura

MakeServices = Callable[..., Services]
MARIA, JOAO = "+5545999990001", "+5545999990002"


class Vendors:
    def __init__(self) -> None:
        self.meta = whatsapp.WhatsAppState()
        self.twilio = twilio.TwilioState()
        self.whatsapp_server = FakeServer(whatsapp.whatsapp_app(self.meta))
        self.twilio_server = FakeServer(twilio.twilio_app(self.twilio))

    def settings(self, chain: str) -> dict[str, object]:
        return {
            **whatsapp.settings_for(self.whatsapp_server.url),
            **twilio.settings_for(self.twilio_server.url),
            "messaging": chain,
        }

    def whatsapp_code(self, phone: str) -> str | None:
        for sent in reversed(self.meta.delivered):
            if sent["to"] == phone[1:] and sent["template"]["name"] == "atende_codigo":
                return str(sent["template"]["components"][0]["parameters"][0]["text"])
        return None

    def sms_code(self, phone: str) -> str | None:
        for sent in reversed(self.twilio.delivered):
            if sent["To"] == phone:
                match = re.search(r"\d{6}", sent["Body"])
                return match.group() if match else None
        return None


@pytest.fixture
def vendors() -> Iterator[Vendors]:
    stand_ins = Vendors()
    with stand_ins.whatsapp_server, stand_ins.twilio_server:
        yield stand_ins


def code_on_phone(read: Callable[[], str | None]) -> Callable[[], asyncio.Future[str]]:
    """The caller reads the code the phone received and types it (the send runs while the
    prompt plays, so it may take a moment to arrive)."""

    async def typed() -> str:
        for _ in range(500):
            code = read()
            if code:
                return code + "#"
            await asyncio.sleep(0.01)
        raise AssertionError("no code reached the phone")

    return lambda: asyncio.ensure_future(typed())


def open_ticket(person_code: str, read_code: Callable[[], str | None]) -> ScriptedCaller:
    return ScriptedCaller(
        [
            ("abrir um chamado", "1"),
            ("código de cadastro", f"{person_code}#"),
            ("código recebido", code_on_phone(read_code)),
            ("Você é", "1"),
            ("tipo de serviço", "3"),
            ("serviço de Impressoras", "1"),
            ("ouvir o número novamente", None),
        ]
    )


def rows(services: Services) -> list[Message]:
    with services.runtime.sessions() as session:
        return list(session.scalars(select(Message).order_by(Message.id)))


def test_a_call_gets_its_code_and_protocol_by_whatsapp(
    make_services: MakeServices, vendors: Vendors
) -> None:
    services = make_services(**vendors.settings("whatsapp"))
    load_demo_people(services.people)
    caller = open_ticket("1001", lambda: vendors.whatsapp_code(MARIA))

    async def scenario() -> int:
        async with running_ura(services) as (server, deps):
            await place_call(server.port, caller)
            return await deps.services.messenger.deliver_due()

    assert asyncio.run(scenario()) == 1
    assert caller.unexpected == [] and caller.steps == []
    code, notice = vendors.meta.delivered
    assert code["template"]["name"] == "atende_codigo"
    assert notice["template"]["name"] == "atende_aviso"
    (ticket,) = services.tickets.list(TicketFilter())[0]
    assert ticket.protocol in notice["template"]["components"][0]["parameters"][0]["text"]
    assert [(r.kind, r.channel, r.status) for r in rows(services)] == [
        ("otp", "whatsapp", "sent"),
        ("protocol", "whatsapp", "sent"),
    ]


def test_whatsapp_going_down_mid_run_loses_nothing_and_twilio_carries_the_code(
    make_services: MakeServices, vendors: Vendors
) -> None:
    services = make_services(**vendors.settings("whatsapp,twilio"))
    load_demo_people(services.people)
    maria = open_ticket("1001", lambda: vendors.whatsapp_code(MARIA))
    joao = open_ticket("1002", lambda: vendors.sms_code(JOAO))

    async def scenario() -> list[int]:
        async with running_ura(services) as (server, deps):
            await place_call(server.port, maria)  # WhatsApp up: code by WhatsApp
            vendors.whatsapp_server.stop()
            await place_call(server.port, joao, uniqueid="1795228820.9")  # code by SMS at once
            vendors.twilio_server.stop()
            sent = [await deps.services.messenger.deliver_due()]  # both down: the protocols wait
            vendors.whatsapp_server.start()
            later = deps.services.messenger.clock() + timedelta(minutes=1)
            deps.services.messenger.clock = lambda: later
            sent.append(await deps.services.messenger.deliver_due())
            return sent

    assert asyncio.run(scenario()) == [0, 2]
    assert maria.unexpected == [] and maria.steps == []
    assert joao.unexpected == [] and joao.steps == []  # the caller noticed nothing
    assert [sent["To"] for sent in vendors.twilio.delivered] == [JOAO]
    notices = [m for m in vendors.meta.delivered if m["template"]["name"] == "atende_aviso"]
    assert sorted(m["to"] for m in notices) == [MARIA[1:], JOAO[1:]]
    summary = [(r.kind, r.recipient[-2:], r.channel, r.status, r.attempts) for r in rows(services)]
    assert summary == [
        ("otp", "01", "whatsapp", "sent", 1),
        ("protocol", "01", "whatsapp", "sent", 2),
        ("otp", "02", "twilio", "sent", 1),
        ("protocol", "02", "whatsapp", "sent", 2),
    ]
