"""The declarative ``http`` connector: the shipped example files against their stand-ins (seed
000's PHP API, a seed-004-style beneficiary API), the phone flow through them, and the clear
errors a wrong file gives at startup."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from atende.config import SettingsError, load_settings
from atende.connectors.declarative import HttpConnector, load_spec
from atende.connectors.http_base import Timeouts
from atende.connectors.ports import ConnectorError
from atende.domain.ticket_status import TicketStatus
from atende.services.bundle import Services
from atende.services.tickets import TicketFilter
from connector_samples import spoken, ticket_draft
from fakes.beneficiary import CLIENT_ID, CLIENT_SECRET, BeneficiaryState, beneficiary_app
from fakes.http_fake import FakeServer
from fakes.legacy_php import API_HASH, LegacyState, legacy_app
from ura_harness import ScriptedCaller, call_ura

EXAMPLES = Path(__file__).parent.parent / "examples" / "connectors"
LEGACY = EXAMPLES / "legacy_php.yaml"
BENEFICIARY = EXAMPLES / "beneficiary_api.yaml"
MAIN = "abrir um chamado"


@pytest.fixture
def legacy(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LegacyState, FakeServer]]:
    state = LegacyState(users={"1001": {"nome": "Maria da Silva", "telefone": "45999990001"}})
    with FakeServer(legacy_app(state)) as server:
        monkeypatch.setenv("LEGACY_API_URL", server.url)
        monkeypatch.setenv("LEGACY_API_HASH", API_HASH)
        yield state, server


@pytest.fixture
def operadora(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[BeneficiaryState, FakeServer]]:
    state = BeneficiaryState(
        beneficiaries={"0001234500013": {"nome": "Ana Souza", "telefone": "+5541988880003"}}
    )
    with FakeServer(beneficiary_app(state)) as server:
        monkeypatch.setenv("OPERADORA_API_URL", server.url)
        monkeypatch.setenv("OPERADORA_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("OPERADORA_CLIENT_SECRET", CLIENT_SECRET)
        yield state, server


def connector(path: Path) -> HttpConnector:
    return load_spec(path, "ATENDE_HELPDESK_FILE").helpdesk_adapter(Timeouts(5.0), "X")


def test_legacy_api_session_is_opened_once_and_again_when_php_drops_it(legacy) -> None:
    state, _ = legacy
    api = connector(LEGACY)

    async def scenario() -> tuple:
        maria = await api.find("code", "1001")
        nobody = await api.find("code", "4242")
        assert maria is not None
        ref = await api.open_ticket(ticket_draft(maria, "20260000033"))
        state.chamados[int(ref.id)]["situacao"] = "Em atendimento"
        state.expire_sessions()  # the PHP session timed out
        status = await api.ticket_status(ref, maria)
        return maria, nobody, ref, status

    maria, nobody, ref, status = asyncio.run(scenario())
    assert (maria.code, maria.name, maria.phone) == ("1001", "Maria da Silva", "45999990001")
    assert nobody is None
    chamado = state.chamados[int(ref.id)]
    assert (chamado["usuario"], chamado["categoria"], chamado["servico"]) == ("1001", "3", "1")
    assert "20260000033" in chamado["descricao"]
    assert (status.raw, status.status) == ("Em atendimento", TicketStatus.IN_PROGRESS)
    assert state.logins == 2


def test_legacy_api_wrong_hash_is_a_permanent_error(legacy, monkeypatch) -> None:
    monkeypatch.setenv("LEGACY_API_HASH", "wrong")
    with pytest.raises(ConnectorError) as refused:
        asyncio.run(connector(LEGACY).find("code", "1001"))
    assert not refused.value.retryable and "HTTP 401" in str(refused.value)


def test_beneficiary_api_token_reuse_renewal_and_idempotent_protocols(operadora) -> None:
    state, _ = operadora
    api = connector(BENEFICIARY)

    async def scenario() -> tuple:
        ana = await api.find("card_number", "0001234500013")
        assert ana is not None
        unknown = await api.find("code", "999")
        first = await api.open_ticket(ticket_draft(ana, "20260000033"))
        again = await api.open_ticket(
            ticket_draft(ana, "20260000033")
        )  # a retry whose first answer was lost
        state.revoke_tokens()
        state.protocols[first.id]["situacao"] = "EM_ANALISE"
        status = await api.ticket_status(first, ana)
        listed = await api.list_tickets(ana)
        return ana, unknown, first, again, status, listed

    ana, unknown, first, again, status, listed = asyncio.run(scenario())
    assert (ana.code, ana.name, ana.card_number) == ("0001234500013", "Ana Souza", "0001234500013")
    assert unknown is None
    assert first == again and len(state.protocols) == 1
    protocol = state.protocols[first.id]
    assert first.number == protocol["numero"] and protocol["protocolo_atende"] == "20260000033"
    assert protocol["motivo"] == "Impressoras / Instalar impressora"
    assert status.status == TicketStatus.IN_PROGRESS
    assert [(s.ref, s.status.status) for s in listed] == [(first, TicketStatus.IN_PROGRESS)]
    assert state.tokens_issued == 2  # one token for the calls, one after the revocation


def test_phone_flow_on_seed_000_api_for_both_directory_and_tickets(
    make_services: Callable[..., Services], legacy
) -> None:
    state, _ = legacy
    services = make_services(
        otp="never",
        directory="http",
        directory_file=LEGACY,
        helpdesk="http",
        helpdesk_file=LEGACY,
    )
    opening = ScriptedCaller(
        [
            (MAIN, "1"),
            ("código de cadastro", "1001#"),  # Maria exists only in the legacy system
            ("Você é Maria da Silva", "1"),
            ("tipo de serviço", "3"),
            ("serviço de Impressoras", "1"),
            ("ouvir o número novamente", None),
        ]
    )
    call_ura(services, opening, callerid="4533334444", uniqueid="1795.1")
    assert opening.unexpected == [] and opening.steps == []
    [ticket] = services.tickets.list(TicketFilter(person_code="1001"))[0]
    assert asyncio.run(services.helpdesk.push_due()) == 1
    [(number, chamado)] = state.chamados.items()
    assert chamado["servico"] == "1" and ticket.protocol in chamado["descricao"]

    chamado["situacao"] = "Pendente"
    played: list[str] = []
    asking = ScriptedCaller(
        [(MAIN, "2"), ("código de cadastro", "1001#"), ("protocolo", ticket.protocol + "#")]
    )
    call_ura(services, asking, callerid="4533334444", uniqueid="1795.2", on_play=played.append)
    assert asking.unexpected == []
    assert spoken(played)[-2].endswith("está aguardando.")
    assert services.helpdesk.link_of(ticket.id).external_id == str(number)


def test_caller_hears_one_moment_while_the_directory_is_slow(
    make_services: Callable[..., Services], operadora
) -> None:
    state, _ = operadora
    state.lookup_gate = threading.Event()
    services = make_services(
        otp="never", directory="http", directory_file=BENEFICIARY, one_moment_after=0.2
    )
    played: list[str] = []

    def on_play(name: str) -> None:
        played.append(name)
        if "Um momento" in spoken([name])[0]:
            state.lookup_gate.set()  # the API answers once the caller was told to wait

    caller = ScriptedCaller(
        [
            (MAIN, "1"),
            ("código de cadastro", "0001234500013#"),
            ("Você é Ana Souza", "2"),
        ]
    )
    fake = call_ura(services, caller, callerid="4533334444", uniqueid="1795.3", on_play=on_play)
    assert caller.unexpected == [] and caller.steps == []
    texts = spoken(played)
    assert "Um momento, por favor." in texts
    assert texts.index("Um momento, por favor.") < next(
        n for n, t in enumerate(texts) if "Ana Souza" in t
    )
    events = services.calls.get(fake.uniqueid).events  # recorded at the node that waited
    assert ("identify_to_open", {"wait": "one_moment"}) in [(e.step, e.detail) for e in events]


def test_directory_down_falls_back_to_people_who_called_before(
    make_services: Callable[..., Services], operadora
) -> None:
    _, server = operadora
    services = make_services(directory="http", directory_file=BENEFICIARY)
    directory = services.directory
    first = asyncio.run(directory.identify("code", "0001234500013"))
    server.stop()
    again = asyncio.run(directory.identify("code", "0001234500013"))
    assert first is not None and again is not None and again.name == "Ana Souza"
    assert asyncio.run(directory.identify("code", "0009999999999")) is None


def broken(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "connector.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("base_url: http://x\nhelpdesk: {open_ticket: {url: '{{ nope'}}\n", "TemplateSyntaxError"),
        ("base_url: http://x\nhelpdesk: {open_ticket: {urll: /t}}\n", "helpdesk.open_ticket"),
        ("base_url: '{{ env.NOT_SET_ANYWHERE }}'\n", "NOT_SET_ANYWHERE"),
        ("base_url: http://x\ndirectory: {find_person: {badge: {url: /p}}}\n", "badge"),
    ],
)
def test_a_wrong_connector_file_stops_startup_naming_the_variable(
    tmp_path: Path, text: str, says: str
) -> None:
    with pytest.raises(SettingsError) as stopped:
        load_spec(broken(tmp_path, text), "ATENDE_HELPDESK_FILE")
    assert str(stopped.value).startswith("ATENDE_HELPDESK_FILE: ") and says in str(stopped.value)


def test_settings_name_what_a_connector_kind_needs(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^ATENDE_HELPDESK_FILE: "):
        load_settings(data_dir=tmp_path, helpdesk="http")
    with pytest.raises(SettingsError, match=r"^ATENDE_HELPDESK_URL: .*ATENDE_HELPDESK=glpi"):
        load_settings(data_dir=tmp_path, helpdesk="glpi")
    with pytest.raises(SettingsError, match=r"^ATENDE_CONNECTOR_TIMEOUTS: .*'lookup'"):
        load_settings(data_dir=tmp_path, connector_timeouts="lookup=3")
    spec_without_directory = broken(tmp_path, "base_url: http://x\n")
    with pytest.raises(SettingsError, match=r"^ATENDE_DIRECTORY_FILE: .*'directory'"):
        load_spec(spec_without_directory, "ATENDE_DIRECTORY_FILE").directory_adapter(
            Timeouts(), "ATENDE_DIRECTORY_FILE"
        )
