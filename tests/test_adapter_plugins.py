"""Adding an adapter is one module and one setting: a third party's message channel and
helpdesk, each a module written here into a directory on ``sys.path``, with its own settings,
named in ``ATENDE_PLUGINS`` and picked by ``ATENDE_MESSAGING`` / ``ATENDE_HELPDESK``, and used
end to end: a status change made over the API reaches the new channel, and a ticket opened over
the API is pushed to the new helpdesk, which then answers its status.
"""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from atende.adapters import CHANNELS
from atende.config import AdapterSettings, Settings, SettingsError, load_settings
from atende.domain.ticket_status import TicketStatus
from atende.registry import RegistryError, register
from atende.services.bundle import Services

# A message channel that writes each message as a line of its own file (its "loft").
PIGEON = '''
    """Carrier pigeons: a message channel from outside atende."""

    import json
    from pathlib import Path

    from atende.adapters import CHANNELS
    from atende.config import AdapterSettings, Settings
    from atende.messaging.port import OutgoingMessage, SendResult
    from atende.registry import register


    class PigeonSettings(AdapterSettings):
        pigeon_loft: Path  # ATENDE_PIGEON_LOFT


    class PigeonChannel:
        name = "pigeon"

        def __init__(self, loft: Path) -> None:
            self.loft = loft

        async def send(self, message: OutgoingMessage) -> SendResult:
            with self.loft.open("a", encoding="utf-8") as out:
                out.write(json.dumps({"to": message.to, "text": message.text}) + "\\n")
            return SendResult("pigeon-1")


    @register(CHANNELS, "pigeon", PigeonSettings)
    def build(settings: Settings, own: PigeonSettings) -> PigeonChannel:
        return PigeonChannel(own.pigeon_loft)
'''

# A helpdesk that keeps tickets in a JSON file of its own ("the ledger").
LEDGER = '''
    """A ledger helpdesk: tickets in one JSON file, from outside atende."""

    import json
    from pathlib import Path

    from atende.adapters import HELPDESKS
    from atende.config import AdapterSettings, Settings
    from atende.connectors.ports import ExternalRef, ExternalStatus, TicketDraft, map_status
    from atende.domain.ticket_status import TicketStatus
    from atende.registry import register


    class LedgerSettings(AdapterSettings):
        ledger_file: Path  # ATENDE_LEDGER_FILE
        ledger_status: str = "Em andamento"  # what the ledger says of every ticket


    class LedgerHelpdesk:
        name = "ledger"
        reads_status = True

        def __init__(self, own: LedgerSettings) -> None:
            self.own = own

        def _read(self):
            path = self.own.ledger_file
            return json.loads(path.read_text()) if path.exists() else {}

        async def open_ticket(self, draft: TicketDraft) -> ExternalRef:
            tickets = self._read()
            number = str(len(tickets) + 1)
            tickets[number] = {"title": draft.title, "person": draft.person.code}
            self.own.ledger_file.write_text(json.dumps(tickets))
            return ExternalRef(id=number, number=f"L-{number}")

        async def find_ticket(self, draft):
            return None

        async def ticket_status(self, ref, person) -> ExternalStatus:
            assert ref.id in self._read()
            return map_status(self.own.ledger_status, {"Em andamento": TicketStatus.IN_PROGRESS})

        async def list_tickets(self, person):
            return []

        async def check(self) -> str:
            return "ledger file is writable"

        async def close(self) -> None:
            pass


    @register(HELPDESKS, "ledger", LedgerSettings)
    def build(settings: Settings, own: LedgerSettings) -> LedgerHelpdesk:
        return LedgerHelpdesk(own)
'''


@pytest.fixture(scope="module")
def plugins(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The two plugin modules, importable; returns the ``ATENDE_PLUGINS`` value naming them."""
    directory = tmp_path_factory.mktemp("plugins")
    (directory / "atende_pigeon.py").write_text(textwrap.dedent(PIGEON), encoding="utf-8")
    (directory / "atende_ledger.py").write_text(textwrap.dedent(LEDGER), encoding="utf-8")
    sys.path.insert(0, str(directory))
    return "atende_pigeon, atende_ledger"


def open_over_api(api: httpx.Client) -> str:
    person = {"code": "1001", "name": "Maria da Silva", "phone": "45999991234"}
    assert api.post("/api/v1/people", json=person).status_code == 201
    item = api.get("/api/v1/catalog").json()[0]["items"][0]["id"]
    opened = api.post("/api/v1/tickets", json={"person_code": "1001", "item_id": item})
    assert opened.status_code == 201, opened.text
    return str(opened.json()["protocol"])


def test_a_new_channel_is_one_module_and_one_setting(
    plugins: str,
    make_services: Callable[..., Services],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from api_client import api_client

    loft = tmp_path / "loft.jsonl"
    monkeypatch.setenv("ATENDE_PIGEON_LOFT", str(loft))  # the channel's own variable
    services = make_services(plugins=plugins, messaging="pigeon")
    with api_client(services) as api:
        protocol = open_over_api(api)
        changed = api.patch(f"/api/v1/tickets/{protocol}", json={"status": "in_progress"})
        assert changed.status_code == 200, changed.text

    assert asyncio.run(services.messenger.deliver_due()) == 1

    (line,) = [json.loads(x) for x in loft.read_text(encoding="utf-8").splitlines()]
    assert line["to"] == "+5545999991234"
    assert f"protocolo {protocol}, agora está em atendimento" in line["text"]


def test_a_new_helpdesk_is_one_module_and_one_setting(
    plugins: str, make_services: Callable[..., Services], tmp_path: Path
) -> None:
    from api_client import api_client

    ledger = tmp_path / "ledger.json"
    services = make_services(plugins=plugins, helpdesk="ledger", ledger_file=ledger)
    with api_client(services) as api:
        protocol = open_over_api(api)

    assert asyncio.run(services.helpdesk.push_due()) == 1

    (entry,) = json.loads(ledger.read_text()).values()
    assert entry["title"].endswith(f"(protocolo {protocol})") and entry["person"] == "1001"
    answer = asyncio.run(services.helpdesk.status(services.tickets.get(protocol)))
    assert (answer.status, answer.external_number) == (TicketStatus.IN_PROGRESS, "L-1")
    assert services.tickets.get(protocol).status == TicketStatus.IN_PROGRESS.value  # mirrored


def test_a_plugins_settings_are_checked_at_startup(
    plugins: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ATENDE_PIGEON_LOFT", raising=False)
    with pytest.raises(SettingsError) as stopped:
        load_settings(data_dir=tmp_path, plugins=plugins, messaging="outbox,pigeon")
    assert str(stopped.value) == "ATENDE_PIGEON_LOFT: needed when ATENDE_MESSAGING names pigeon"
    with pytest.raises(SettingsError) as unknown:
        load_settings(data_dir=tmp_path, plugins=plugins, helpdesk="ledgr")
    assert str(unknown.value) == (
        "ATENDE_HELPDESK: unknown 'ledgr' (known: builtin, http, glpi, zammad, osticket, ledger)"
    )
    with pytest.raises(SettingsError, match=r"^ATENDE_PLUGINS: cannot import 'atende_nope'"):
        load_settings(data_dir=tmp_path, plugins="atende_nope")


def test_a_name_is_registered_once(plugins: str, tmp_path: Path) -> None:
    load_settings(data_dir=tmp_path, plugins=plugins)

    class Other(AdapterSettings):
        pass

    def build(settings: Settings, own: Other) -> object:
        raise AssertionError("never built")

    with pytest.raises(RegistryError, match="channel 'pigeon' is registered already"):
        register(CHANNELS, "pigeon", Other)(build)  # type: ignore[arg-type]
    with pytest.raises(RegistryError, match="channel 'email' is registered already"):
        register(CHANNELS, "email", Other)(build)  # type: ignore[arg-type]  # atende's own
