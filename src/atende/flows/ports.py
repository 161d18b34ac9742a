"""What the flow engine needs from the rest of atende, as small ports and plain values.

The engine runs a flow over the ``Call`` interface and these ports only: no ORM row, no
service class, no connector crosses this line, so every node type is unit-tested with
in-memory fakes, and the composition root adapts today's services to them. Values are frozen
dataclasses; a port method that may ask an external system (a directory, a helpdesk) is
async, so the engine can say "um momento" while it waits.

Messages that go with a protocol (the ticket's, the attendance's) are handed to the service
as a text still holding ``{protocol}``: the service fills it and queues it in the same
transaction that makes the number, so no protocol exists without its message being queued,
whatever happens to the call afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Literal, Protocol

from atende.domain.otp_policy import OtpPolicy
from atende.domain.protocol_numbers import ProtocolScheme
from atende.domain.ticket_status import TicketStatus
from atende.flows.nodes import IdentifyBy

CallOutcome = Literal[
    "ticket_opened",
    "status_given",
    "transferred",
    "out_of_hours",
    "declined",
    "abandoned",
    "no_input",
    "failed",
    "verification_failed",
]
"""How a call ends, as the engine tells the call log (values of services.calls.Outcome)."""


class PortUnavailable(Exception):
    """A port could not do its work now (a helpdesk down); a node with a failure exit takes
    it, any other ends the call as failed with an apology."""


@dataclass(frozen=True)
class PersonView:
    """A caller found in the directory; ``code`` is what the attendant's screen shows."""

    id: int
    code: str
    name: str
    phone: str | None = None
    email: str | None = None


class Directory(Protocol):
    async def find(self, by: IdentifyBy, value: str) -> PersonView | None:
        """The one active person ``value`` names (an extension, a phone, a code...), or None."""
        ...


class CodeStatus(Enum):
    OK = "ok"
    WRONG = "wrong"  # the code stays alive for ``attempts_left`` more entries
    LOCKED = "locked"  # too many wrong entries
    EXPIRED = "expired"
    UNAVAILABLE = "unavailable"  # no code alive, or the verifier cannot answer


@dataclass(frozen=True)
class CodeCheck:
    status: CodeStatus
    attempts_left: int = 0


class OneTimeCodes(Protocol):
    async def send(self, person: PersonView, call_id: int) -> bool:
        """Issue and send a code to the person's phone; False when it could not be sent."""
        ...

    async def check(self, person: PersonView, typed: str) -> CodeCheck: ...


@dataclass(frozen=True)
class ServiceItem:
    id: int
    key: str  # the menu key
    prompt: str  # as heard in "Para {prompt}, tecle {key}."
    name: str  # as written in a message


@dataclass(frozen=True)
class ServiceCategory:
    key: str
    prompt: str
    name: str
    items: tuple[ServiceItem, ...]


class Catalog(Protocol):
    async def tree(self) -> Sequence[ServiceCategory]: ...


@dataclass(frozen=True)
class NewTicket:
    person: PersonView
    item: ServiceItem
    description: str
    call_id: int
    idempotency_key: str  # a retried run of the same call finds the ticket it opened
    message: str | None  # with ``{protocol}`` to fill; queued with the ticket, if any


@dataclass(frozen=True)
class TicketView:
    id: int
    protocol: str
    item_name: str


@dataclass(frozen=True)
class TicketStatusView:
    item_name: str
    opened: date
    status: TicketStatus | None  # None: the helpdesk cannot tell (osTicket)
    external_number: str | None = None


class Tickets(Protocol):
    async def open(self, new: NewTicket) -> TicketView:
        """Open the ticket and queue ``new.message`` in the same transaction."""
        ...

    async def status(self, person: PersonView, protocol: str) -> TicketStatusView | None:
        """The ticket ``protocol`` if it is the person's; None for a missing one and for
        another person's alike."""
        ...


class Protocols(Protocol):
    async def issue(
        self, call_id: int, person: PersonView | None, reason: str | None, message: str | None
    ) -> str:
        """A new attendance protocol number; ``message`` (with ``{protocol}``) is queued for
        the person, when there is one with a phone or e-mail, in the same transaction."""
        ...

    async def link(
        self, number: str, person: PersonView | None, reason: str | None, message: str | None
    ) -> None:
        """Tie a protocol issued earlier in the call to the person and reason now known, and
        queue ``message`` as :meth:`issue` does."""
        ...


class OpeningHours(Protocol):
    """What ``atende.domain.business_hours.BusinessHours`` answers."""

    def is_open(self, at: datetime) -> bool: ...

    def is_holiday(self, day: date) -> bool: ...

    def describe(self) -> str: ...


class HoursSource(Protocol):
    async def current(self) -> OpeningHours:
        """The hours as the dashboard has them now (asked once per call)."""
        ...


@dataclass(frozen=True)
class StepEvent:
    """One step of a call: the node id (or ``hangup``) and what happened (never digits typed)."""

    name: str
    at: datetime
    detail: dict[str, str | int]


class CallLog(Protocol):
    async def start(
        self,
        uniqueid: str,
        caller_id: str | None,
        channel: str | None,
        flow: str,
        version: int | None,
    ) -> int:
        """Record a new call on ``channel`` running version ``version`` of ``flow`` (None: a
        flow file, not a published version); returns its id."""
        ...

    def step(self, call_id: int, event: StepEvent) -> None:
        """Keep ``event``: it is stored within moments, whatever happens to the call (the
        timeline of a call survives the process); the call does not wait for it."""
        ...

    async def identify(
        self, call_id: int, person: PersonView, *, claim_protocols: bool = True
    ) -> None:
        """The call is ``person``'s: protocols it issued before anyone was known become
        theirs, and their messages are queued (RN 623); without ``claim_protocols`` they
        are left to the flow's ``issue_protocol`` link that follows at once. Stored with
        the call's steps: the call does not wait for it."""
        ...

    async def survey(self, call_id: int, score: int) -> None: ...

    async def end(self, call_id: int, outcome: CallOutcome) -> None:
        """The call ended with ``outcome``; returns once it and everything the call told
        before (steps, identification, survey) are stored."""
        ...


class Recordings(Protocol):
    def path_for(self, call_id: int) -> str:
        """Where the call's recording goes (without extension, as RECORD FILE wants it)."""
        ...

    async def attach(self, call_id: int, path: str, protocol: str | None) -> None:
        """Keep the recording with the call, its ticket or protocol."""
        ...


@dataclass(frozen=True)
class FlowPorts:
    """Everything the engine asks of the services, and the clock (aware, local time)."""

    directory: Directory
    codes: OneTimeCodes
    catalog: Catalog
    tickets: Tickets
    protocols: Protocols
    hours: HoursSource
    log: CallLog
    recordings: Recordings
    clock: Callable[[], datetime]


@dataclass(frozen=True)
class EngineSettings:
    """The ``ATENDE_`` settings a flow reads (``only_if``, ``policy: settings``...)."""

    otp: OtpPolicy = "untrusted"
    protocol_at_start: bool = False
    survey: bool = False
    attendant_destination: tuple[str, str, str] = ("from-internal", "200", "1")
    protocol_scheme: ProtocolScheme = field(default_factory=ProtocolScheme)
    card_check: Literal["luhn", "none"] = "luhn"
    one_moment_after: float = 3.0

    def flag(self, name: Literal["protocol_at_start", "survey"]) -> bool:
        return self.protocol_at_start if name == "protocol_at_start" else self.survey
