"""The whole URA through a real FastAGI socket, called by a fake Asterisk that answers like
Asterisk 22, with real espeak-ng audio and the database of the chosen backend."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from atende.db.models import AttendanceProtocol, Message
from atende.demo import load_demo_people
from atende.domain.ticket_status import TicketStatus
from atende.services.bundle import Services
from atende.services.people import PersonData
from atende.services.tickets import NewTicket, TicketFilter
from ura_harness import HANGUP, ScriptedCaller, call_ura, place_call, read_code, running_ura

MakeServices = Callable[..., Services]

MAIN = "abrir um chamado"
ASK_CODE = "código de cadastro"
ASK_OTP = "código recebido"
MARIA = "Você é Maria da Silva"
CATEGORIES = "tipo de serviço"
PRINTERS = "serviço de Impressoras"
PROTOCOL = "ouvir o número novamente"


def outbox_of(services: Services) -> Path:
    return services.runtime.settings.data_dir / "outbox.jsonl"


def with_demo(make: MakeServices, **overrides: object) -> Services:
    services = make(**overrides)
    load_demo_people(services.people)
    return services


def tickets_of(services: Services, code: str) -> list:
    return services.tickets.list(TicketFilter(person_code=code))[0]


def open_ticket_script(services: Services, otp: bool = True) -> list:
    steps = [(MAIN, "1")]
    if otp:
        steps += [(ASK_CODE, "1001#"), (ASK_OTP, lambda: read_code(outbox_of(services)))]
    return [*steps, (MARIA, "1"), (CATEGORIES, "3"), (PRINTERS, "1"), (PROTOCOL, None)]


def test_open_ticket_with_code_and_one_time_code(make_services: MakeServices) -> None:
    services = with_demo(make_services)
    caller = ScriptedCaller(open_ticket_script(services))

    async def scenario() -> object:
        async with running_ura(services) as (server, deps):
            fake = await place_call(server.port, caller, callerid="4533334444")
            await deps.services.messenger.deliver_due()
            return fake

    fake = asyncio.run(scenario())
    assert caller.unexpected == [] and caller.steps == []
    assert fake.errors == [] and fake.hung_up_by == "server"
    [ticket] = tickets_of(services, "1001")
    assert (ticket.item.name, ticket.channel, ticket.status) == (
        "Instalar impressora",
        "phone",
        "open",
    )
    read_back = next(p for p in caller.prompts if PROTOCOL in p)
    spoken_digits = re.search(r":([\d\s]+)Para", read_back).group(1)  # type: ignore[union-attr]
    assert "".join(spoken_digits.split()) == ticket.protocol
    messages = [json.loads(x) for x in outbox_of(services).read_text().splitlines()]
    assert [m["kind"] for m in messages] == ["otp", "protocol"]
    assert messages[0]["to"] == "+5545999990001"
    assert ticket.protocol in messages[1]["text"]
    with services.runtime.sessions() as session:  # shown on the ticket's page
        linked = session.scalars(select(Message.kind).where(Message.ticket_id == ticket.id))
        assert list(linked) == ["protocol"]
    call = services.calls.get(fake.uniqueid)
    assert call.outcome == "ticket_opened" and call.ended_at is not None
    steps = [e.step for e in call.events]
    assert steps[:2] == ["greeting", "main_menu"]  # steps are the ti flow's node ids
    nodes = {"identify_to_open", "verify_code", "confirm_person", "choose_service", "open_ticket"}
    assert nodes <= set(steps)
    assert all("1001" not in json.dumps(e.detail) for e in call.events)


def test_own_extension_skips_code_and_one_time_code(make_services: MakeServices) -> None:
    services = with_demo(make_services)
    caller = ScriptedCaller(open_ticket_script(services, otp=False))

    fake = call_ura(services, caller, callerid="2001")
    assert caller.unexpected == []
    assert len(tickets_of(services, "1001")) == 1
    assert not outbox_of(services).exists() or "otp" not in outbox_of(services).read_text()
    assert services.calls.get(fake.uniqueid).events[2].detail == {"by": "extension"}


def test_otp_always_asks_even_from_own_extension(make_services: MakeServices) -> None:
    services = with_demo(make_services, otp="always")
    steps = open_ticket_script(services)
    steps.pop(1)  # identified by extension: no registration code asked
    caller = ScriptedCaller(steps)

    call_ura(services, caller, callerid="2001")
    assert caller.unexpected == [] and len(tickets_of(services, "1001")) == 1


def test_unknown_code_is_asked_again_then_goodbye(make_services: MakeServices) -> None:
    services = with_demo(make_services, otp="never")
    caller = ScriptedCaller([(MAIN, "1"), (ASK_CODE, "999#"), (ASK_CODE, "#"), (ASK_CODE, "42#")])

    fake = call_ura(services, caller)
    assert caller.unexpected == []
    assert sum(p.startswith("Digite seu código de cadastro") for p in caller.prompts) == 3
    assert services.calls.get(fake.uniqueid).outcome == "no_input"
    assert fake.hung_up_by == "server"


def test_three_wrong_one_time_codes_end_the_call_without_ticket(
    make_services: MakeServices,
) -> None:
    services = with_demo(make_services)
    caller = ScriptedCaller(
        [
            (MAIN, "1"),
            (ASK_CODE, "1001#"),
            (ASK_OTP, "000000"),
            (ASK_OTP, "111111"),
            (ASK_OTP, "222222"),
        ]
    )

    fake = call_ura(services, caller)
    assert caller.unexpected == [] and tickets_of(services, "1001") == []
    assert services.calls.get(fake.uniqueid).outcome == "verification_failed"
    counted = {s.label: s.count for s in services.reports.outcomes(services.reports.last_days(1))}
    assert (counted["verification_failed"], counted["no_input"]) == (1, 0)


def test_not_me_ends_the_call_without_ticket(make_services: MakeServices) -> None:
    services = with_demo(make_services, otp="never")
    caller = ScriptedCaller([(MAIN, "1"), (ASK_CODE, "1001#"), (MARIA, "2")])

    fake = call_ura(services, caller)
    assert caller.unexpected == [] and tickets_of(services, "1001") == []
    assert services.calls.get(fake.uniqueid).outcome == "declined"


def test_wrong_keys_repeat_the_menu_then_goodbye(make_services: MakeServices) -> None:
    services = with_demo(make_services)
    caller = ScriptedCaller([(MAIN, None), (MAIN, None), (MAIN, None)])

    fake = call_ura(services, caller)
    assert caller.unexpected == []
    assert "Obrigado por ligar" in Path(fake.files_played[-1] + ".txt").read_text()
    assert services.calls.get(fake.uniqueid).outcome == "no_input"


def test_repeat_key_replays_the_category_menu(make_services: MakeServices) -> None:
    services = with_demo(make_services, otp="never")
    caller = ScriptedCaller(
        [
            (MAIN, "9"),
            (MAIN, "1"),
            (MARIA, "1"),
            (CATEGORIES, "7"),
            (CATEGORIES, "5"),
            (PROTOCOL, None),
        ]
    )

    call_ura(services, caller, callerid="2001")
    assert caller.unexpected == []
    [ticket] = tickets_of(services, "1001")
    assert ticket.item.name == "Reserva de projetor"  # one item: no item menu


def test_edited_catalog_is_heard_at_the_next_call(make_services: MakeServices) -> None:
    services = with_demo(make_services, otp="never")
    category = services.catalog.add_category("8", "Telefonia", "Telefonia fixa")
    services.catalog.add_item(category.id, "1", "Linha muda")
    services.catalog.add_item(category.id, "2", "Sem tom")
    caller = ScriptedCaller(
        [
            (MAIN, "1"),
            (MARIA, "1"),
            ("Para Telefonia fixa, tecle 8", "8"),
            ("Para Sem tom, tecle 2", "2"),
            (PROTOCOL, None),
        ]
    )

    call_ura(services, caller, callerid="2001")
    assert caller.unexpected == []
    assert tickets_of(services, "1001")[0].item.name == "Sem tom"


def test_protocol_can_be_heard_again(make_services: MakeServices) -> None:
    services = with_demo(make_services, otp="never")
    steps = open_ticket_script(services, otp=False)
    steps[-1] = (PROTOCOL, "1")
    steps.append((PROTOCOL, None))
    caller = ScriptedCaller(steps)

    fake = call_ura(services, caller, callerid="2001")
    assert caller.unexpected == [] and caller.steps == []
    events = services.calls.get(fake.uniqueid).events
    assert [e.detail for e in events if e.step == "read_ticket_protocol"] == [{}, {"key": "1"}]


def test_same_call_retried_makes_no_second_ticket(make_services: MakeServices) -> None:
    services = with_demo(make_services, otp="never")

    async def scenario() -> None:
        async with running_ura(services) as (server, _):
            for _ in range(2):
                caller = ScriptedCaller(open_ticket_script(services, otp=False))
                await place_call(server.port, caller, callerid="2001", uniqueid="1795228819.77")

    asyncio.run(scenario())
    assert len(tickets_of(services, "1001")) == 1


ASK_PROTOCOL = "número do protocolo"


def status_script(services: Services, protocol: str) -> list:
    return [
        (MAIN, "2"),
        (ASK_CODE, "1001#"),
        (ASK_OTP, lambda: read_code(outbox_of(services))),
        (ASK_PROTOCOL, protocol + "#"),
    ]


def test_status_of_own_ticket_is_spoken(make_services: MakeServices) -> None:
    services = with_demo(make_services)
    printer = services.catalog.tree()[2].items[0]
    ticket, _ = services.tickets.open(NewTicket("1001", printer.id), actor="test")
    services.tickets.change(ticket.protocol, actor="test", status=TicketStatus.IN_PROGRESS)
    caller = ScriptedCaller(status_script(services, ticket.protocol))

    fake = call_ura(services, caller)
    assert caller.unexpected == []
    said = [Path(f + ".txt").read_text() for f in fake.files_played]
    status_line = next(s for s in said if "Instalar impressora" in s)
    assert "em atendimento" in status_line and "aberto em" in status_line
    assert services.calls.get(fake.uniqueid).outcome == "status_given"


def test_status_rejects_bad_check_digit_and_hides_other_peoples_tickets(
    make_services: MakeServices,
) -> None:
    services = with_demo(make_services)
    others, _ = services.tickets.open(NewTicket("1002", 1), actor="test")
    mine, _ = services.tickets.open(NewTicket("1001", 1), actor="test")
    typo = mine.protocol[:-1] + str((int(mine.protocol[-1]) + 1) % 10)
    missing = services.runtime.scheme.format_number(mine.created_at.date(), 999)
    caller = ScriptedCaller(
        [
            *status_script(services, typo),
            (ASK_PROTOCOL, others.protocol + "#"),
            (ASK_PROTOCOL, missing + "#"),
        ]
    )

    fake = call_ura(services, caller)
    said = [Path(f + ".txt").read_text() for f in fake.files_played]
    assert said.count("Número de protocolo inválido.") == 1
    assert said.count("Chamado não encontrado.") == 2  # the other's and the missing one alike
    assert services.calls.get(fake.uniqueid).outcome == "no_input"


def test_status_without_the_one_time_code_sounds_the_same_for_any_code(
    make_services: MakeServices,
) -> None:
    """Guessing a registration code, then protocols, tells nothing: a known code and an unknown
    one hear the same words until the one-time code, which neither can type."""
    services = with_demo(make_services)
    services.tickets.open(NewTicket("1001", 1), actor="test")
    wrong_codes = [(ASK_OTP, "000000#"), (ASK_OTP, "111111#"), (ASK_OTP, "222222#")]
    heard: dict[str, list[str]] = {}
    for code in ("1001", "9999"):
        caller = ScriptedCaller([(MAIN, "2"), (ASK_CODE, code + "#"), *wrong_codes])
        fake = call_ura(services, caller)
        assert caller.unexpected == [] and caller.steps == []
        heard[code] = [Path(f + ".txt").read_text() for f in fake.files_played]
        assert services.calls.get(fake.uniqueid).outcome == "verification_failed"
    assert heard["1001"] == heard["9999"]
    assert not any(ASK_PROTOCOL in said for said in heard["9999"])
    codes_sent = [json.loads(x) for x in outbox_of(services).read_text().splitlines()]
    assert [m["to"] for m in codes_sent] == ["+5545999990001"]  # Maria's only: 9999 is no one


@pytest.mark.parametrize("policy", ["untrusted", "always"])
def test_status_from_own_extension_asks_the_one_time_code_only_if_always(
    make_services: MakeServices, policy: str
) -> None:
    services = with_demo(make_services, otp=policy)
    mine, _ = services.tickets.open(NewTicket("1001", 1), actor="test")
    steps = status_script(services, mine.protocol)
    del steps[1]  # identified by extension: no registration code asked
    if policy == "untrusted":
        del steps[1]  # and the PBX vouches for the extension
    caller = ScriptedCaller(steps)

    fake = call_ura(services, caller, callerid="2001")
    assert caller.unexpected == [] and caller.steps == []
    assert services.calls.get(fake.uniqueid).outcome == "status_given"
    assert outbox_of(services).exists() == (policy == "always")


def test_status_is_not_given_when_the_code_cannot_reach_a_phone(
    make_services: MakeServices,
) -> None:
    services = with_demo(make_services)
    services.people.create(PersonData(code="1004", name="Sem Celular", extensions=["2004"]))
    mine, _ = services.tickets.open(NewTicket("1004", 1), actor="test")
    caller = ScriptedCaller([(MAIN, "2"), (ASK_CODE, "1004#"), (ASK_PROTOCOL, mine.protocol)])

    fake = call_ura(services, caller)
    assert caller.steps == [(ASK_PROTOCOL, mine.protocol)]  # never asked
    assert services.calls.get(fake.uniqueid).outcome == "failed"


def test_technician_in_hours_hands_the_call_to_the_dialplan(make_services: MakeServices) -> None:
    services = with_demo(make_services, attendant_dest="suporte,200,1")
    caller = ScriptedCaller([(MAIN, "3")])

    fake = call_ura(services, caller)
    assert (fake.context, fake.extension, fake.priority) == ("suporte", "200", "1")
    assert fake.closed_by_server and fake.hung_up_by is None  # back to the dialplan, not hung up
    protocol = fake.variables["ATENDE_PROTOCOL"]
    assert services.protocols.get(protocol).channel == "phone"
    assert services.calls.get(fake.uniqueid).outcome == "transferred"


def test_zero_in_a_menu_reaches_a_person_without_identification(
    make_services: MakeServices,
) -> None:
    services = with_demo(make_services)
    caller = ScriptedCaller([(MAIN, "0")])

    fake = call_ura(services, caller)
    assert fake.context == "from-internal" and "ATENDE_PROTOCOL" in fake.variables


def test_out_of_hours_says_the_hours_and_offers_a_ticket(make_services: MakeServices) -> None:
    now = datetime.now().astimezone()
    tomorrow = (now + timedelta(days=1)).strftime("%a").lower()
    services = with_demo(make_services, hours=f"{tomorrow} 08:00-09:00", otp="never")
    caller = ScriptedCaller([(MAIN, "3"), ("horário de atendimento", "1"), (MARIA, "2")])

    fake = call_ura(services, caller, callerid="2001")
    assert caller.unexpected == [] and caller.steps == []
    assert "ATENDE_PROTOCOL" not in fake.variables
    assert "das 8 às 9 horas" in next(p for p in caller.prompts if "Nosso horário" in p)


def test_survey_answer_is_stored(make_services: MakeServices) -> None:
    services = with_demo(make_services, survey=True, otp="never")
    caller = ScriptedCaller([*open_ticket_script(services, otp=False), ("De 1 a 5", "4")])

    fake = call_ura(services, caller, callerid="2001")
    assert caller.unexpected == []
    assert services.calls.get(fake.uniqueid).survey_score == 4


def test_health_plan_mode_reads_an_ans_protocol_first(make_services: MakeServices) -> None:
    services = with_demo(
        make_services, protocol_at_start=True, protocol_format="ans", ans_registration="123456"
    )
    caller = ScriptedCaller([(MAIN, "0")])

    fake = call_ura(services, caller)
    # the greeting, then the protocol read (two nodes of the ti flow)
    greeting = " ".join(Path(f + ".txt").read_text() for f in fake.files_played[:2])
    number = fake.variables["ATENDE_PROTOCOL"]
    assert len(number) == 20 and number.startswith("123456")
    assert "".join(ch for ch in greeting if ch.isdigit()) == number
    assert greeting.startswith("Olá!") and "protocolo deste atendimento" in greeting


HANGUP_POINTS = range(7)


@pytest.mark.parametrize("hang_at", HANGUP_POINTS)
def test_hanging_up_at_any_step_closes_the_call_cleanly(
    make_services: MakeServices, hang_at: int, caplog: pytest.LogCaptureFixture
) -> None:
    services = with_demo(make_services)
    steps = open_ticket_script(services)
    assert len(steps) == len(HANGUP_POINTS)
    words, _ = steps[hang_at]
    caller = ScriptedCaller([*steps[:hang_at], (words, HANGUP)])

    with caplog.at_level(logging.WARNING):
        fake = call_ura(services, caller)
    assert caller.unexpected == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    call = services.calls.get(fake.uniqueid)
    opened = hang_at == len(steps) - 1  # during the protocol read-back: the ticket exists
    assert call.outcome == ("ticket_opened" if opened else "abandoned")
    assert call.ended_at is not None and call.events[-1].step == "hangup"
    tickets = tickets_of(services, "1001")
    assert len(tickets) == (1 if opened else 0)
    assert [m.kind for m in queued_messages(services)] == (["protocol"] if opened else [])


def queued_messages(services: Services) -> list[Message]:
    """The messages waiting in the outbox table (one-time codes are sent at once, not queued)."""
    with services.runtime.sessions() as session:
        return list(session.scalars(select(Message).where(Message.status == "queued")))


def deliver_after_call(services: Services, caller: ScriptedCaller, **options: object) -> object:
    """One call, then one round of the background delivery: what reached the caller's phone."""

    async def scenario() -> object:
        async with running_ura(services) as (server, deps):
            fake = await place_call(server.port, caller, **options)
            await deps.services.messenger.deliver_due()
            return fake

    return asyncio.run(scenario())


def sent_messages(services: Services) -> list[dict[str, str]]:
    outbox = outbox_of(services)
    lines = outbox.read_text().splitlines() if outbox.exists() else []
    return [json.loads(x) for x in lines]


def test_hanging_up_during_the_protocol_read_back_still_sends_the_protocol(
    make_services: MakeServices,
) -> None:
    services = with_demo(make_services, otp="never")
    steps = open_ticket_script(services, otp=False)
    steps[-1] = (PROTOCOL, HANGUP)
    caller = ScriptedCaller(steps)

    fake = deliver_after_call(services, caller, callerid="2001")
    assert caller.unexpected == [] and caller.steps == []
    [ticket] = tickets_of(services, "1001")
    [message] = sent_messages(services)
    assert message["kind"] == "protocol" and ticket.protocol in message["text"]
    call = services.calls.get(fake.uniqueid)  # type: ignore[attr-defined]
    assert call.outcome == "ticket_opened" and call.events[-1].step == "hangup"


def protocols_of_call(services: Services, call_id: int) -> list[AttendanceProtocol]:
    with services.runtime.sessions() as session:
        query = select(AttendanceProtocol).where(AttendanceProtocol.call_id == call_id)
        return list(session.scalars(query))


HEALTH_PLAN = {"protocol_at_start": True, "protocol_format": "ans", "ans_registration": "123456"}


def test_health_plan_caller_known_by_number_gets_the_protocol_after_dropping_at_once(
    make_services: MakeServices,
) -> None:
    services = with_demo(make_services, **HEALTH_PLAN)
    caller = ScriptedCaller([])  # hangs up while the greeting and the protocol play

    fake = deliver_after_call(services, caller, callerid="45999990001", hangup_after_commands=1)
    call = services.calls.get(fake.uniqueid)  # type: ignore[attr-defined]
    assert call.outcome == "abandoned" and "protocol_at_start" in [e.step for e in call.events]
    [issued] = protocols_of_call(services, call.id)
    [message] = sent_messages(services)
    assert message["kind"] == "protocol" and message["to"] == "+5545999990001"
    assert issued.number in message["text"]


def test_health_plan_protocol_goes_out_when_the_caller_identifies_then_drops(
    make_services: MakeServices,
) -> None:
    services = with_demo(make_services, otp="never", **HEALTH_PLAN)
    caller = ScriptedCaller([(MAIN, "1"), (MARIA, HANGUP)])  # known by extension 2001

    fake = deliver_after_call(services, caller, callerid="2001")
    assert caller.unexpected == [] and caller.steps == []
    call = services.calls.get(fake.uniqueid)  # type: ignore[attr-defined]
    [issued] = protocols_of_call(services, call.id)
    assert issued.person is not None and issued.person.code == "1001"
    [message] = sent_messages(services)
    assert message["kind"] == "protocol" and issued.number in message["text"]
