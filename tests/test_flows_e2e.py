"""The shipped flows through a real FastAGI socket (issue 11): what the engine changes for a
caller on a real Asterisk (a wrong key answered at once, keys typed ahead, the ``#`` after a
fixed-length code, a hang-up recorded at its node), flows chosen by FastAGI path, and the
health-plan flow against the seed-004 beneficiary stand-in, from card number to transfer, and
out of hours with a recorded message; a custom flow whose recording, made before the ticket,
is attached to it and plays on its dashboard page."""

from __future__ import annotations

import asyncio
import logging
import re
import wave
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from atende.db.models import AttendanceProtocol, Message, Recording, Ticket
from atende.demo import load_demo_people
from atende.services.bundle import Services
from e2e.site import TECHNICIAN, browser_like, dashboard
from fakes.beneficiary import CLIENT_ID, CLIENT_SECRET, BeneficiaryState, beneficiary_app
from fakes.http_fake import FakeServer
from ura_harness import (
    HANGUP,
    RECORDING,
    ScriptedCaller,
    call_ura,
    place_call,
    read_code,
    running_ura,
)

MakeServices = Callable[..., Services]
MAIN = "abrir um chamado"
ASK_CODE = "Digite seu código de cadastro"
ASK_OTP = "código recebido"
MARIA = "Você é Maria da Silva"
INVALID = "Opção inválida"
REASONS = "autorização de procedimentos"
ASK_CARD = "número da sua carteirinha"
CARD = "0001234500013"
BENEFICIARY = Path(__file__).parent.parent / "examples" / "connectors" / "beneficiary_api.yaml"


def with_demo(make: MakeServices, **overrides: object) -> Services:
    services = make(**overrides)
    load_demo_people(services.people)
    return services


def steps_of(services: Services, uniqueid: str) -> list[tuple[str, dict[str, object]]]:
    return [(e.step, e.detail) for e in services.calls.get(uniqueid).events]


def closed_now() -> str:
    tomorrow = (datetime.now().astimezone() + timedelta(days=1)).strftime("%a").lower()
    return f"{tomorrow} 08:00-09:00"


def test_a_wrong_key_in_a_menu_is_answered_at_once(make_services: MakeServices) -> None:
    services = with_demo(make_services)
    caller = ScriptedCaller([(MAIN, "5"), (INVALID, None), (MAIN, "3")])

    fake = call_ura(services, caller)
    assert caller.unexpected == [] and caller.steps == []
    menu = next(n for n, p in enumerate(caller.prompts) if MAIN in p)
    assert caller.prompts[menu + 1].startswith(INVALID)  # no silence waited for first
    assert not any("nenhuma opção" in p for p in caller.prompts)
    assert ("main_menu", {"result": "invalid"}) in steps_of(services, fake.uniqueid)
    assert fake.variables["ATENDE_PROTOCOL"]  # 3: to a person


def test_a_key_typed_during_the_greeting_is_carried_into_the_menu(
    make_services: MakeServices,
) -> None:
    services = with_demo(make_services, otp="never")
    caller = ScriptedCaller([("Olá", "1"), (MARIA, "2")])  # knows the menu: 1 at once

    fake = call_ura(services, caller, callerid="2001")
    assert caller.unexpected == [] and caller.steps == []
    assert not any(MAIN in p for p in caller.prompts)  # the menu was never needed
    assert ("main_menu", {"key": "1"}) in steps_of(services, fake.uniqueid)
    assert services.calls.get(fake.uniqueid).outcome == "declined"


def test_the_hash_after_the_six_digit_code_is_swallowed(make_services: MakeServices) -> None:
    services = with_demo(make_services)
    outbox = services.runtime.settings.data_dir / "outbox.jsonl"
    caller = ScriptedCaller(
        [(MAIN, "1"), (ASK_CODE, "1001#"), (ASK_OTP, lambda: read_code(outbox)), (MARIA, "2")]
    )

    fake = call_ura(services, caller, callerid="4533334444")
    assert caller.unexpected == [] and caller.steps == []
    # The "#" arrived during the name's prompt (the emulator sends it late, as Asterisk does):
    # the prompt played again instead of hearing "opção inválida".
    assert not any(p.startswith(INVALID) for p in caller.prompts)
    assert ("confirm_person", {"key": "2"}) in steps_of(services, fake.uniqueid)


def test_a_hang_up_is_recorded_at_the_node_it_happened(
    make_services: MakeServices, caplog: pytest.LogCaptureFixture
) -> None:
    services = with_demo(make_services)
    caller = ScriptedCaller([(MAIN, "1"), (ASK_CODE, "1001#"), (ASK_OTP, HANGUP)])

    with caplog.at_level(logging.INFO, logger="atende.agi"):
        fake = call_ura(services, caller, callerid="4533334444")
    steps = steps_of(services, fake.uniqueid)
    assert steps[-1] == ("hangup", {"node": "verify_code"})
    assert services.calls.get(fake.uniqueid).outcome == "abandoned"
    with services.runtime.sessions() as session:  # the code went out before the caller left
        assert session.scalars(select(Message.id).where(Message.kind == "otp")).all()
    said = [r.getMessage() for r in caplog.records if r.name == "atende.agi.server"]
    assert f"call {fake.uniqueid} ended: the caller hung up" in said
    assert not any("dialplan" in line for line in said)


def test_every_prompt_listens_for_every_key(make_services: MakeServices) -> None:
    services = with_demo(make_services)
    caller = ScriptedCaller([("Olá", "*"), (INVALID, None), (MAIN, "3")])

    fake = call_ura(services, caller)
    assert caller.unexpected == [] and caller.steps == []
    played = [c.split() for c in fake.commands if c.startswith("STREAM FILE")]
    assert played and all(words[3] == "0123456789*#" for words in played)
    # "*" cut the greeting and was judged by the menu: "opção inválida" at once.
    greeting = next(n for n, p in enumerate(caller.prompts) if "Olá" in p)
    assert caller.prompts[greeting + 1].startswith(INVALID)
    assert ("main_menu", {"result": "invalid"}) in steps_of(services, fake.uniqueid)


def test_a_key_typed_during_the_information_is_carried_into_the_menu(
    make_services: MakeServices,
) -> None:
    services = with_demo(make_services)
    caller = ScriptedCaller([(MAIN, "4"), ("Tutoriais", "3")])

    fake = call_ura(services, caller)
    assert caller.unexpected == [] and caller.steps == []
    assert sum(MAIN in p for p in caller.prompts) == 1  # the menu was not said again
    steps = steps_of(services, fake.uniqueid)
    assert [s for s, _ in steps][:4] == ["greeting", "main_menu", "information", "main_menu"]
    assert ("main_menu", {"key": "3"}) in steps and fake.variables["ATENDE_PROTOCOL"]


def test_information_option_says_the_hours_then_back_to_the_menu(
    make_services: MakeServices,
) -> None:
    services = with_demo(make_services)
    caller = ScriptedCaller([(MAIN, "4"), ("Tutoriais", None), (MAIN, "3")])

    fake = call_ura(services, caller)
    assert caller.unexpected == [] and caller.steps == []
    assert any("Nosso horário de atendimento" in p for p in caller.prompts)
    assert [s for s, _ in steps_of(services, fake.uniqueid)][:4] == [
        "greeting",
        "main_menu",
        "information",
        "main_menu",
    ]


@pytest.mark.parametrize(("script", "setting"), [("ti", "ti"), ("ura", "plano-de-saude")])
def test_the_fastagi_path_chooses_the_flow(
    make_services: MakeServices, script: str, setting: str
) -> None:
    services = with_demo(make_services, flow=setting)
    words = MAIN if setting == "ti" else REASONS
    caller = ScriptedCaller([(words, "0")])

    fake = call_ura(services, caller, script=script)
    assert caller.unexpected == [] and caller.steps == []
    assert fake.context == "from-internal" and fake.variables["ATENDE_PROTOCOL"]


@pytest.fixture
def operadora(monkeypatch: pytest.MonkeyPatch) -> Iterator[BeneficiaryState]:
    state = BeneficiaryState(
        beneficiaries={CARD: {"nome": "Ana Souza", "telefone": "+5541988880003"}}
    )
    with FakeServer(beneficiary_app(state)) as server:
        monkeypatch.setenv("OPERADORA_API_URL", server.url)
        monkeypatch.setenv("OPERADORA_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("OPERADORA_CLIENT_SECRET", CLIENT_SECRET)
        yield state


def health_plan(make: MakeServices, **overrides: object) -> Services:
    return make(
        directory="http",
        directory_file=BENEFICIARY,
        protocol_format="ans",
        ans_registration="123456",
        **overrides,
    )


def test_health_plan_card_to_transfer_with_the_channel_variables(
    make_services: MakeServices, operadora: BeneficiaryState
) -> None:
    services = health_plan(make_services)
    caller = ScriptedCaller([(REASONS, "3"), (ASK_CARD, f"{CARD}#")])

    fake = call_ura(services, caller, script="plano-de-saude", callerid="4533334444")
    assert caller.unexpected == [] and caller.steps == []
    call = services.calls.get(fake.uniqueid)
    number = fake.variables["ATENDE_PROTOCOL"]
    assert fake.variables == {
        "ATENDE_PROTOCOL": number,
        "ATENDE_BENEFICIARY": CARD,
        "ATENDE_REASON": "reclamação",
        "ATENDE_CALL_ID": str(call.id),
    }
    assert (fake.context, fake.extension, fake.priority) == ("from-internal", "200", "1")
    assert call.outcome == "transferred" and len(number) == 20
    read = caller.prompts[1]  # after the greeting: the number, then "to hear it again, 1"
    assert "".join(ch for ch in read if ch.isdigit()) == number + "1"
    with services.runtime.sessions() as session:
        protocol = session.scalar(
            select(AttendanceProtocol).where(AttendanceProtocol.number == number)
        )
        assert protocol is not None and protocol.reason == "reclamação"
        texts = list(session.scalars(select(Message.text).where(Message.kind == "protocol")))
    # One protocol, one message: the flow's, with the reason, date and time.
    [text] = texts
    assert number in text
    when = re.search(r"reclamação foi registrado em (\d\d/\d\d/\d{4}), às (\d\d:\d\d)", text)
    assert when is not None


def test_health_plan_caller_who_drops_right_after_the_card_gets_one_message(
    make_services: MakeServices, operadora: BeneficiaryState
) -> None:
    services = health_plan(make_services)
    caller = ScriptedCaller([(REASONS, "4"), (ASK_CARD, f"{CARD}#"), ("transferir", HANGUP)])

    fake = call_ura(services, caller, script="plano-de-saude", callerid="4533334444")
    assert caller.unexpected == [] and caller.steps == []
    call = services.calls.get(fake.uniqueid)
    assert call.outcome == "abandoned" and call.events[-1].detail == {"node": "transfer"}
    with services.runtime.sessions() as session:
        protocol = session.scalar(
            select(AttendanceProtocol).where(AttendanceProtocol.call_id == call.id)
        )
        texts = list(session.scalars(select(Message.text).where(Message.kind == "protocol")))
    assert protocol is not None and protocol.person_id is not None
    assert protocol.reason == "cancelamento"
    [text] = texts
    assert protocol.number in text and "cancelamento foi registrado em" in text


def test_health_plan_out_of_hours_keeps_the_recorded_message(
    make_services: MakeServices, operadora: BeneficiaryState
) -> None:
    services = health_plan(make_services, hours=closed_now())
    caller = ScriptedCaller([(REASONS, "1"), (ASK_CARD, f"{CARD}#"), (RECORDING, None)])

    async def scenario() -> object:
        async with running_ura(services) as (server, _):
            return await place_call(server.port, caller, script="plano-de-saude")

    fake = asyncio.run(scenario())
    assert caller.unexpected == [] and caller.steps == []
    call = services.calls.get(fake.uniqueid)  # type: ignore[attr-defined]
    assert call.outcome == "out_of_hours"
    record = next(c for c in fake.commands if c.startswith("RECORD FILE"))  # type: ignore[attr-defined]
    assert record.split()[3] == "wav" and " BEEP" in record
    with services.runtime.sessions() as session:
        [recording] = session.scalars(select(Recording))
        protocol = session.scalar(
            select(AttendanceProtocol).where(AttendanceProtocol.call_id == call.id)
        )
    assert protocol is not None and recording.protocol == protocol.number
    assert recording.call_id == call.id
    path = services.recordings.file(recording.id)
    with wave.open(str(path)) as sound:  # what the caller said, as Asterisk wrote it
        assert (sound.getframerate(), sound.getnchannels(), sound.getsampwidth()) == (8000, 1, 2)
    assert path.parent == services.runtime.settings.data_dir.resolve() / "recordings"
    assert [v.id for v in services.recordings.of_call(call.id)] == [recording.id]


DESCRIBE_THEN_OPEN = {
    "name": "descricao",
    "start": "menu",
    "attendant": "person",
    "texts": {
        "menu": "Para deixar a descrição de um problema, tecle 1.",
        "describe": "Descreva o problema após o sinal. Para terminar, tecle sustenido.",
    },
    "nodes": {
        "menu": {"type": "menu", "prompt": {"key": "menu"}, "options": {"1": "who"}},
        "who": {"type": "identify", "by": ["extension"], "next": "what", "not_found": "person"},
        "what": {"type": "choose_service", "branch": "1", "next": "describe"},
        "describe": {"type": "record_message", "prompt": {"key": "describe"}, "next": "open"},
        "open": {"type": "open_ticket", "next": "bye"},
        "bye": {"type": "hang_up", "outcome": "ticket_opened"},
        "person": {"type": "transfer", "variables": {"ATENDE_CALL_ID": "{call.id}"}},
    },
}


def test_a_recording_made_before_the_ticket_is_attached_to_it_and_plays_on_its_page(
    make_services: MakeServices,
) -> None:
    services = with_demo(make_services, otp="never")
    text = yaml.safe_dump(DESCRIBE_THEN_OPEN, allow_unicode=True, sort_keys=False)
    services.flows.publish(text, "api:test")
    caller = ScriptedCaller(
        [("descrição de um problema", "1"), ("tecle 1", "1"), (RECORDING, None)]
    )

    fake = call_ura(services, caller, script="descricao", callerid="2001")
    assert caller.unexpected == [] and caller.steps == [], caller.prompts
    [wav] = fake.recordings
    with services.runtime.sessions() as session:
        [recording] = session.scalars(select(Recording))
        ticket = session.scalar(select(Ticket))
        assert ticket is not None
        assert (recording.ticket_id, recording.protocol) == (ticket.id, ticket.protocol)
    with dashboard(services) as base_url:
        with browser_like(base_url) as anonymous:
            refused = anonymous.get(f"/recordings/{recording.id}")
            assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
        with browser_like(base_url, TECHNICIAN) as member:
            page = member.get(f"/tickets/{ticket.protocol}").text
            assert f'src="/recordings/{recording.id}"' in page and "<audio" in page
            played = member.get(f"/recordings/{recording.id}")
            assert played.status_code == 200 and played.headers["content-type"] == "audio/wav"
            assert played.content == Path(wav).read_bytes()  # what the caller said, as written
            assert member.get("/recordings/999999").status_code == 404
