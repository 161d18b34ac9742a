"""One call's state while a flow runs, and what every node handler shares.

A handler (one per node type, in ``atende.flows.handlers``) gets the :class:`Run` and its node
and returns the id of the next node. It may also raise :class:`Jump` (0 in a menu: to the
flow's attendant) or :class:`Ends` (the call is over, with an outcome). The run keeps what the
call has learnt (the person, the protocol, the chosen service, the flow variables), fills
them into prompts, records steps by node id, and holds the keypad (type-ahead, ``#``).
"""

from __future__ import annotations

import asyncio
import string
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from atende.flows.call import FlowCall, Sound
from atende.flows.keys import Keypad
from atende.flows.nodes import ATTENDANT_KEY, Node
from atende.flows.ports import (
    CallOutcome,
    EngineSettings,
    FlowPorts,
    OpeningHours,
    PersonView,
    ServiceCategory,
    ServiceItem,
    StepEvent,
)
from atende.flows.prompts import Prompt, Recording, TextKey, parts, template_fields
from atende.flows.schema import Flow
from atende.speech.numbers import date_for_speech
from atende.texts import PersonalText

T = TypeVar("T")
# Fields that hold a person's data: a text filled with one is spoken from a private file.
PERSONAL_FIELDS = frozenset({"name", "person.name", "person.code", "caller_id"})
N = TypeVar("N", bound=Node)
Handler = Callable[["Run", Any], Awaitable[str]]

HANDLERS: dict[str, Handler] = {}


def handles(node_type: type[N]) -> Callable[[Callable[[Run, N], Awaitable[str]]], Handler]:
    """Register the decorated function as the handler of ``node_type`` (once only)."""
    name = str(node_type.model_fields["type"].annotation.__args__[0])  # type: ignore[union-attr]

    def register(handler: Callable[[Run, N], Awaitable[str]]) -> Handler:
        if name in HANDLERS:
            raise ValueError(f"a handler for node type {name!r} is already registered")
        HANDLERS[name] = handler
        return handler

    return register


class Jump(Exception):
    """Leave the node for ``target`` (0 pressed in a menu)."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


class Ends(Exception):
    """The call is over: say ``speech`` (None: the flow's goodbye) and hang up; without
    ``goodbye`` the call has left the flow (a transfer) and nothing more is said."""

    def __init__(
        self, outcome: CallOutcome, speech: Sequence[Sound] | None = None, goodbye: bool = True
    ) -> None:
        super().__init__(outcome)
        self.outcome: CallOutcome = outcome
        self.speech = speech
        self.goodbye = goodbye


@dataclass(frozen=True)
class Menu:
    """What a menu-like node asks: its prompt, its keys, how often, how it says a miss."""

    speech: Sequence[Sound]
    keys: str
    repeat_key: str | None = None
    tries: int = 3
    timeout_s: float = 5.0
    invalid: Sequence[Sound] = ()
    no_input: Sequence[Sound] = ()


class _Fields(string.Formatter):
    """``str.format`` over dotted flow field names (``{person.name}`` is one name)."""

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        return kwargs.get(field_name, ""), field_name


@dataclass(frozen=True)
class _Values(Mapping[str, object]):
    """A template's own values, then the run's flow fields, each worked out only when the
    template names it (the date in words costs more than all the rest)."""

    run: Run
    own: Mapping[str, object]
    spoken: bool

    def __getitem__(self, name: str) -> object:
        if name in self.own:
            return self.own[name]
        return self.run.field(name, spoken=self.spoken)

    def __iter__(self) -> Iterator[str]:
        return iter(self.own)

    def __len__(self) -> int:
        return len(self.own)


_FORMATTER = _Fields()


@dataclass
class Run:
    flow: Flow
    ports: FlowPorts
    call: FlowCall
    settings: EngineSettings
    call_id: int
    hours: OpeningHours
    keypad: Keypad
    at: str = ""  # the node being run
    person: PersonView | None = None
    by_extension: bool = False  # identified by their own PBX extension
    unknown_caller: bool = False  # a typed code nobody has, kept secret until verify_code
    protocol: str | None = None
    category: ServiceCategory | None = None
    item: ServiceItem | None = None
    ticket_opened: bool = False
    last_miss: str = ""  # how the last choose() ended without a key: invalid or no_input
    variables: dict[str, str] = field(default_factory=dict)
    _background: set[asyncio.Future[object]] = field(default_factory=set)

    # -- steps --------------------------------------------------------------------------

    def step(self, **detail: str | int) -> None:
        """Record the current node as a step, with what happened (never digits typed)."""
        self.ports.log.step(self.call_id, StepEvent(self.at, self.ports.clock(), detail))

    def event(self, name: str, **detail: str | int) -> None:
        """Record a step that is not a node (``hangup``, with the node it happened at)."""
        event = StepEvent(name, self.ports.clock(), {"node": self.at, **detail})
        self.ports.log.step(self.call_id, event)

    # -- work alongside the call --------------------------------------------------------

    def alongside(self, work: Awaitable[object]) -> None:
        """Run ``work`` while the call goes on; the call's end waits for it (see settle)."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def settle(self) -> None:
        """Wait for the work started with :meth:`alongside` (it handles its own errors)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    # -- texts ----------------------------------------------------------------------------

    def field(self, name: str, *, spoken: bool) -> str:
        """The flow field ``name`` now ("" for a name no field or variable has)."""
        if name in self.variables:
            return self.variables[name]
        person = self.person
        match name:
            case "caller_id":
                return self.call.caller_id or ""
            case "call.id":
                return str(self.call_id)
            case "hours":
                return self.hours.describe()
            case "date":
                today = self.ports.clock().date()
                return date_for_speech(today) if spoken else f"{today:%d/%m/%Y}"
            case "time":
                return f"{self.ports.clock():%H:%M}"
            case "person.name":
                return person.name if person else ""
            case "person.code":
                return person.code if person else ""
            case "protocol":
                return self.protocol or ""
            case "service.category":
                return self.category.name if self.category else ""
            case "service.item":
                return self.item.name if self.item else ""
            case "ticket.item":
                return self.item.name if self.ticket_opened and self.item else ""
        return ""

    def text(self, key: str, /, **own: object) -> str:
        """The flow's text ``key`` with the flow fields and ``own`` fields filled."""
        return self.fill(self.flow.text_of(key) or "", own)

    def fill(
        self, template: str, own: Mapping[str, object] | None = None, *, spoken: bool = True
    ) -> str:
        """``template`` with the flow fields and ``own`` filled (spoken: dates in words); a
        :class:`PersonalText` when it holds a person's data, so its audio stays private."""
        filled = _FORMATTER.vformat(template, (), _Values(self, own or {}, spoken))
        personal = not PERSONAL_FIELDS.isdisjoint(template_fields(template))
        return PersonalText(filled) if personal else filled

    def speech(self, prompt: Prompt | None, **own: object) -> list[Sound]:
        """``prompt`` as parts for ``Call.play``: texts filled, recordings as they are."""
        spoken: list[Sound] = []
        for part in parts(prompt):
            if isinstance(part, Recording):
                spoken.append(part)
            elif isinstance(part, TextKey):
                spoken.append(self.text(part.key, **own))
            else:
                spoken.append(self.fill(part, own))
        return spoken

    def message(self, prompt: Prompt | None, **own: object) -> str | None:
        """A written message: ``{protocol}`` is left for the service that makes the number."""
        if prompt is None:
            return None
        own = {"protocol": "{protocol}", **own}
        texts = [
            self.flow.text_of(p.key) or "" if isinstance(p, TextKey) else p for p in parts(prompt)
        ]
        return " ".join(self.fill(t, own, spoken=False) for t in texts if isinstance(t, str))

    # -- waiting and choosing ---------------------------------------------------------------

    async def waiting(self, work: Awaitable[T]) -> T:
        """Await a port that may ask an external system; each time it keeps the caller in
        silence for ``one_moment_after`` seconds, say "um momento"."""
        task = asyncio.ensure_future(work)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self.settings.one_moment_after)
                if done:
                    return task.result()
                self.step(wait="one_moment")
                await self.keypad.say([self.text("one_moment")])
        finally:
            task.cancel()

    async def choose(self, menu: Menu, attendant: bool = True) -> str | None:
        """The key the caller picks among ``menu.keys``; None after ``tries`` misses.

        Any other key hears ``menu.invalid`` and is a miss; the repeat key replays without
        counting; with ``attendant``, 0 jumps to the flow's attendant node.
        """
        misses = 0
        while misses < menu.tries:
            key = await self.keypad.choose(menu.speech, menu.timeout_s)
            if key == ATTENDANT_KEY and attendant and self.flow.attendant:
                self.step(key=key)
                raise Jump(self.flow.attendant)
            if key is not None and key == menu.repeat_key:
                continue
            if key is not None and key in menu.keys:
                return key
            misses += 1
            self.last_miss = "invalid" if key else "no_input"
            self.step(result=self.last_miss)
            await self.keypad.say(menu.invalid if key else menu.no_input)
        return None

    async def give_up(
        self, exit_to: str | None, outcome: CallOutcome, speech: Sequence[Sound] = ()
    ) -> str:
        """Say ``speech``; go to ``exit_to``, or end the call with ``outcome`` and goodbye."""
        await self.keypad.say(speech)
        if exit_to is None:
            raise Ends(outcome)
        return exit_to
