"""The two ports: who is calling (Directory) and where tickets live (Helpdesk).

Adapters translate between these small types and one product's API; the rest of atende never
sees a vendor's field names. Errors are :class:`ConnectorError`, which says whether trying
again later can help (a timeout, a 503) or not (a 422 the helpdesk will always give).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from atende.domain.ticket_status import TicketStatus

LookupField = Literal["code", "card_number", "phone", "extension"]
LOOKUP_FIELDS: tuple[LookupField, ...] = ("code", "card_number", "phone", "extension")


class ConnectorError(Exception):
    """An external system did not do what was asked; ``retryable`` when later may work."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class NotSupported(ConnectorError):
    """The external system cannot do this at all (osTicket cannot read a ticket's status)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


@dataclass(frozen=True)
class DirectoryEntry:
    """A person as a directory knows them; ``code`` is what they type to identify."""

    code: str
    name: str
    phone: str | None = None
    email: str | None = None
    card_number: str | None = None


@dataclass(frozen=True)
class TicketDraft:
    """What an external helpdesk receives for one of our tickets."""

    protocol: str
    idempotency_key: str
    person: DirectoryEntry
    category: str
    item: str
    menu_path: str  # the keys pressed, "3.1": category 3, item 1
    category_ref: str | None  # the helpdesk's own category id (ATENDE_HELPDESK_CATEGORIES)
    description: str
    channel: str
    opened_at: datetime

    @property
    def title(self) -> str:
        return f"{self.item} (protocolo {self.protocol})"

    @property
    def body(self) -> str:
        lines = [
            f"Protocolo atende: {self.protocol}",
            f"Serviço: {self.category} / {self.item}",
            f"Solicitante: {self.person.name} (código {self.person.code})",
            f"Canal: {self.channel}",
        ]
        if self.person.phone:
            lines.append(f"Telefone: {self.person.phone}")
        if self.description:
            lines.append(self.description)
        return "\n".join(lines)


@dataclass(frozen=True)
class ExternalRef:
    """A ticket in the external helpdesk: the id its API uses, the number people see there."""

    id: str
    number: str


@dataclass(frozen=True)
class ExternalStatus:
    """A status as the helpdesk says it, and ours when the mapping knows it."""

    raw: str
    status: TicketStatus | None


@dataclass(frozen=True)
class ExternalSummary:
    ref: ExternalRef
    title: str
    status: ExternalStatus


class Directory(Protocol):
    name: str

    async def find(self, field: LookupField, value: str) -> DirectoryEntry | None:
        """The one person ``field`` equals ``value`` for, or None (unknown, or ambiguous)."""
        ...

    async def close(self) -> None: ...


class Helpdesk(Protocol):
    name: str

    @property
    def reads_status(self) -> bool:
        """False: status questions are answered from our own record only."""
        ...

    async def open_ticket(self, draft: TicketDraft) -> ExternalRef: ...

    async def find_ticket(self, draft: TicketDraft) -> ExternalRef | None:
        """The ticket an earlier attempt for ``draft`` made, if the helpdesk can tell (used
        before trying again after an attempt whose answer was lost); None otherwise."""
        ...

    async def ticket_status(self, ref: ExternalRef, person: DirectoryEntry) -> ExternalStatus:
        """The status of ``person``'s ticket ``ref`` (some APIs want to know whose it is)."""
        ...

    async def list_tickets(self, person: DirectoryEntry) -> list[ExternalSummary]: ...

    async def check(self) -> str:
        """Prove the address and credentials work without changing anything; says how."""
        ...

    async def close(self) -> None:
        """Log out (GLPI's killSession) and free connections."""
        ...


class CallLog(Protocol):
    """A helpdesk's log of phone calls (Zammad's CTI): told of each call in the background."""

    def event(self, event: str, call_id: str, caller: str | None, outcome: str | None) -> None:
        """``newCall``, ``answer`` or ``hangup`` (with how the call ended)."""
        ...

    async def idle(self) -> None:
        """Wait until the events told so far are delivered."""
        ...

    async def close(self) -> None: ...


def map_status(raw: str, mapping: dict[str, TicketStatus]) -> ExternalStatus:
    """``raw`` with our status when ``mapping`` (compared without case) knows it."""
    lowered = {key.casefold(): value for key, value in mapping.items()}
    return ExternalStatus(raw=raw, status=lowered.get(raw.casefold()))
