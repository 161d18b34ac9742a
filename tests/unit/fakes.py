"""In-memory stand-ins for the engine's call and ports, shared by every engine test.

:class:`FakeCall` answers from a script, one entry per command that can take input, in the
order the caller acts (the way a real Asterisk would, timeouts instantaneous):

* ``"~5"``: 5 pressed while the next prompt plays (it cuts it); a prompt with no ``~`` entry
  at the head plays to its end;
* ``"5"``: 5 pressed after the prompt (WAIT FOR DIGIT); ``"-"``: nothing pressed;
* for an ask (GET DATA): ``"123456"`` digits (ending by the count, or by timeout when fewer
  than asked), ``"12#"`` ended by ``#``, ``"-"`` nothing typed;
* ``"!"``: the caller hangs up at that command (and every later command fails).

When the script runs out the caller is silent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from atende.agi.errors import CallerGone
from atende.domain.protocol_numbers import ProtocolScheme
from atende.flows.call import Destination, FlowSpeech, RecordResult
from atende.flows.engine import FlowEngine
from atende.flows.nodes import IdentifyBy
from atende.flows.ports import (
    CallOutcome,
    CodeCheck,
    CodeStatus,
    EngineSettings,
    FlowPorts,
    NewTicket,
    PersonView,
    ServiceCategory,
    ServiceItem,
    StepEvent,
    TicketStatusView,
    TicketView,
)
from atende.flows.schema import Flow

NOW = datetime.fromisoformat("2026-03-10T10:30:00-03:00")  # a Tuesday, open hours
SCHEME = ProtocolScheme()
ANA = PersonView(1, "1001", "Ana Souza", phone="+5545999990001", email="ana@example.org")
BRUNO = PersonView(2, "1002", "Bruno Lima")  # no phone: no one-time code, no message
CODE = "123456"  # the one-time code the fake sends


def protocol(sequence: int) -> str:
    return SCHEME.format_number(NOW.date(), sequence)


def spoken(text: FlowSpeech) -> str:
    if isinstance(text, str):
        return text
    return " ".join(p if isinstance(p, str) else f"[{p.recording}]" for p in text if p)


@dataclass
class FakeCall:
    script: list[str] = field(default_factory=list)
    caller_id: str | None = None
    uniqueid: str = "1795228819.8"
    channel_name: str | None = "PJSIP/sipp-00000000"
    played: list[tuple[str, str]] = field(default_factory=list)  # (text, keys listened for)
    asked: list[tuple[str, int]] = field(default_factory=list)
    prepared: list[str] = field(default_factory=list)
    handed_over: tuple[Destination, dict[str, str]] | None = None
    recorded: list[str] = field(default_factory=list)
    hung_up: bool = False
    gone: bool = False
    hangs_up_recording: bool = False  # the caller speaks, then hangs up instead of waiting

    def _next(self, kind: str) -> str | None:
        """The script's entry for a command of ``kind`` (``during`` a prompt, ``wait`` for
        input after it, anything else takes none); the caller hanging up there raises."""
        if self.gone:
            raise CallerGone("the channel is dead")
        head = self.script[0] if self.script else None
        if head == "!":
            self.script.pop(0)
            self.gone = True
            raise CallerGone("the caller hung up")
        if head is None or kind not in ("during", "wait"):
            return None
        if kind == "during" and not head.startswith("~"):
            return None
        assert kind == "during" or not head.startswith("~"), f"{head!r}: no prompt plays"
        return self.script.pop(0)

    def heard(self) -> str:
        return " | ".join(text for text, _ in self.played)

    async def answer(self) -> None:
        self._next("answer")

    async def prepare(self, text: str) -> None:
        self.prepared.append(text)

    async def play(self, text: FlowSpeech, keys: str = "") -> str | None:
        self.played.append((spoken(text), keys))
        entry = self._next("during")
        key = entry[1:] if entry else None
        return key if key and key in keys else None

    async def ask(self, text: FlowSpeech, max_digits: int, timeout_s: float) -> tuple[str, bool]:
        await asyncio.sleep(0)  # work started before the prompt goes on while it plays
        self.asked.append((spoken(text), max_digits))
        self.played.append((spoken(text), "digits"))
        entry = self._next("wait") or "-"
        if entry == "-":
            return "", True
        digits = entry.rstrip("#")[:max_digits]
        return digits, not entry.endswith("#") and len(digits) < max_digits

    async def wait_key(self, timeout_s: float) -> str | None:
        entry = self._next("wait")
        return None if entry in (None, "-") else entry

    async def hand_over(self, destination: Destination, variables: dict[str, str]) -> None:
        self._next("hand_over")
        self.handed_over = (destination, variables)

    async def hang_up(self) -> None:
        self._next("hang_up")
        self.hung_up = True

    async def record(
        self, path: str, max_seconds: int, silence_seconds: int | None, beep: bool, end_keys: str
    ) -> RecordResult:
        self._next("record")
        self.recorded.append(path)
        if self.hangs_up_recording:
            self.gone = True
            return RecordResult("hangup", 12.0)
        return RecordResult("silence", 20.0)


@dataclass
class FakeDirectory:
    people: dict[tuple[str, str], PersonView] = field(default_factory=dict)
    asked: list[tuple[str, str]] = field(default_factory=list)

    async def find(self, by: IdentifyBy, value: str) -> PersonView | None:
        self.asked.append((by, value))
        return self.people.get((by, value))


@dataclass
class FakeCodes:
    sends: bool = True
    sent: list[int] = field(default_factory=list)
    wrong: int = 0

    async def send(self, person: PersonView, call_id: int) -> bool:
        if self.sends:
            self.sent.append(person.id)
        return self.sends

    async def check(self, person: PersonView, typed: str) -> CodeCheck:
        if typed == CODE:
            return CodeCheck(CodeStatus.OK)
        self.wrong += 1
        left = 3 - self.wrong
        return CodeCheck(CodeStatus.WRONG if left else CodeStatus.LOCKED, left)


PRINTER = ServiceItem(12, "2", "impressora", "Impressora")
CATALOG = (
    ServiceCategory(
        "1",
        "hardware",
        "Hardware",
        (ServiceItem(11, "1", "computador", "Computador"), PRINTER),
    ),
    ServiceCategory("2", "rede", "Rede", (ServiceItem(21, "1", "internet", "Internet"),)),
    ServiceCategory("3", "vazia", "Vazia", ()),
)


@dataclass
class FakeCatalog:
    categories: Sequence[ServiceCategory] = CATALOG

    async def tree(self) -> Sequence[ServiceCategory]:
        return self.categories


@dataclass
class Outbox:
    """Messages the services queued, already filled: (person code, text)."""

    messages: list[tuple[str, str]] = field(default_factory=list)

    def queue(self, person: PersonView | None, text: str | None, number: str) -> None:
        if person is not None and text and (person.phone or person.email):
            self.messages.append((person.code, text.format(protocol=number)))


@dataclass
class FakeTickets:
    outbox: Outbox
    opened: list[NewTicket] = field(default_factory=list)
    known: dict[str, tuple[str, TicketStatusView]] = field(default_factory=dict)

    async def open(self, new: NewTicket) -> TicketView:
        self.opened.append(new)
        number = protocol(100 + len(self.opened))
        self.outbox.queue(new.person, new.message, number)
        return TicketView(len(self.opened), number, new.item.name)

    async def status(self, person: PersonView, number: str) -> TicketStatusView | None:
        owner, view = self.known.get(number, ("", None))
        return view if owner == person.code else None


@dataclass
class FakeProtocols:
    outbox: Outbox
    issued: list[dict[str, Any]] = field(default_factory=list)
    linked: list[dict[str, Any]] = field(default_factory=list)

    async def issue(
        self, call_id: int, person: PersonView | None, reason: str | None, message: str | None
    ) -> str:
        number = protocol(1 + len(self.issued))
        self.issued.append({"number": number, "person": person, "reason": reason})
        self.outbox.queue(person, message, number)
        return number

    async def link(
        self, number: str, person: PersonView | None, reason: str | None, message: str | None
    ) -> None:
        self.linked.append({"number": number, "person": person, "reason": reason})
        self.outbox.queue(person, message, number)


@dataclass
class FakeHours:
    open: bool = True
    holiday: bool = False

    def is_open(self, at: datetime) -> bool:
        return self.open and not self.holiday

    def is_holiday(self, day: date) -> bool:
        return self.holiday

    def describe(self) -> str:
        return "de segunda a sexta, das oito às dezessete horas"

    async def current(self) -> FakeHours:
        return self


@dataclass
class FakeLog:
    steps_seen: list[StepEvent] = field(default_factory=list)
    identified: list[int] = field(default_factory=list)
    claims: list[bool] = field(default_factory=list)  # claim_protocols of each identify
    scores: list[int] = field(default_factory=list)
    outcome: CallOutcome | None = None

    async def start(
        self,
        uniqueid: str,
        caller_id: str | None,
        channel: str | None,
        flow: str,
        version: int | None,
    ) -> int:
        return 7

    def step(self, call_id: int, event: StepEvent) -> None:
        self.steps_seen.append(event)

    async def identify(
        self, call_id: int, person: PersonView, *, claim_protocols: bool = True
    ) -> None:
        self.identified.append(person.id)
        self.claims.append(claim_protocols)

    async def survey(self, call_id: int, score: int) -> None:
        self.scores.append(score)

    async def end(self, call_id: int, outcome: CallOutcome) -> None:
        self.outcome = outcome

    def names(self) -> list[str]:
        return [event.name for event in self.steps_seen]

    def at(self, name: str) -> list[dict[str, str | int]]:
        return [event.detail for event in self.steps_seen if event.name == name]


@dataclass
class FakeRecordings:
    attached: list[tuple[str, str | None]] = field(default_factory=list)

    def path_for(self, call_id: int) -> str:
        return f"/var/lib/atende/recordings/call-{call_id}"

    async def attach(self, call_id: int, path: str, protocol: str | None) -> None:
        self.attached.append((path, protocol))


@dataclass
class Fakes:
    """One call's fakes: the call, every port, the settings; ``run`` plays the flow."""

    call: FakeCall = field(default_factory=FakeCall)
    settings: EngineSettings = field(default_factory=EngineSettings)
    directory: FakeDirectory = field(default_factory=FakeDirectory)
    codes: FakeCodes = field(default_factory=FakeCodes)
    catalog: FakeCatalog = field(default_factory=FakeCatalog)
    outbox: Outbox = field(default_factory=Outbox)
    hours: FakeHours = field(default_factory=FakeHours)
    log: FakeLog = field(default_factory=FakeLog)
    recordings: FakeRecordings = field(default_factory=FakeRecordings)

    def __post_init__(self) -> None:
        self.tickets = FakeTickets(self.outbox)
        self.protocols = FakeProtocols(self.outbox)

    def ports(self) -> FlowPorts:
        return FlowPorts(
            directory=self.directory,
            codes=self.codes,
            catalog=self.catalog,
            tickets=self.tickets,
            protocols=self.protocols,
            hours=self.hours,
            log=self.log,
            recordings=self.recordings,
            clock=lambda: NOW,
        )

    def run(self, flow: Flow, *script: str) -> CallOutcome:
        self.call.script = list(script)
        return asyncio.run(FlowEngine(flow, self.ports(), self.call, self.settings).run())


def known(*people: tuple[IdentifyBy, str, PersonView]) -> FakeDirectory:
    return FakeDirectory({(by, value): person for by, value, person in people})
