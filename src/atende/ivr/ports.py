"""Today's services behind the flow engine's ports (``atende.flows.ports``).

The engine knows small ports and plain values; the services have their own values (a
person with a CPF and extensions, a catalog category with its id), block on SQLAlchemy
sessions and have their own names for things. This module is the one place that translates,
so the engine stays testable with fakes and the services stay the engine's only way to the
data. Every blocking service call runs in a worker thread
(``asyncio.to_thread``): one slow database call never stalls the other calls of the process;
a read its caches can answer runs on the event loop (:func:`from_caches`).
It lives with the phone's composition (``atende.ivr.wiring``), which builds it once per
process.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from atende.connectors.ports import LookupField
from atende.domain.identity import InvalidIdentifier, normalize_cpf
from atende.flows.nodes import IdentifyBy
from atende.flows.ports import (
    CallOutcome,
    CodeCheck,
    CodeStatus,
    NewTicket,
    OpeningHours,
    PersonView,
    ServiceCategory,
    ServiceItem,
    StepEvent,
    TicketStatusView,
    TicketView,
)
from atende.ivr.steps import StepWriter
from atende.messaging import DeliveryError
from atende.services import tickets as ticket_service
from atende.services.bundle import Services
from atende.services.cache import NotCached, cached_only
from atende.services.calls import Ended, Identified, NewCall, StepRecord, Surveyed
from atende.services.catalog import CategoryView
from atende.services.errors import ServiceError
from atende.services.otp import OneTimeCodes, VerifyStatus
from atende.services.people import PersonView as DirectoryPerson
from atende.services.people import sole_active_person
from atende.services.recordings import RecordingService

log = logging.getLogger(__name__)
T = TypeVar("T")

TICKET_ACTOR = "ura"
# The engine's ways of naming a caller, as the directory (and our people table) knows them.
LOOKUP: dict[IdentifyBy, LookupField] = {
    "extension": "extension",
    "caller_phone": "phone",
    "code": "code",
    "card": "card_number",
}


async def from_caches(read: Callable[[], T]) -> T:
    """``read()`` (a read only) on the event loop when every cache it asks holds its value,
    else in a worker thread: the catalog, the opening hours and the flows change rarely."""
    try:
        with cached_only():
            return read()
    except NotCached:
        return await asyncio.to_thread(read)


def person_view(person: DirectoryPerson) -> PersonView:
    """The engine's view of a caller: what a call needs, not the CPF, card number or
    extensions the directory's view also carries."""
    return PersonView(person.id, person.code, person.name, person.phone, person.email)


@dataclass
class ServiceDirectory:
    """The directory port: the configured directory (external or ours) through the
    directory service, which keeps a local copy; CPF, which no external directory looks up yet, is
    looked up in atende's people."""

    services: Services

    async def find(self, by: IdentifyBy, value: str) -> PersonView | None:
        person: DirectoryPerson | None
        if by == "cpf":
            person = await asyncio.to_thread(self._by_cpf, value)
        else:
            person = await self.services.directory.identify(LOOKUP[by], value)
        return person_view(person) if person is not None else None

    def _by_cpf(self, value: str) -> DirectoryPerson | None:
        try:
            cpf = normalize_cpf(value)
        except InvalidIdentifier:
            return None
        return sole_active_person(self.services.people.find(cpf=cpf, active_only=True))


@dataclass
class ServiceCodes:
    """The one-time code port: ``services.otp`` (ours, or Twilio Verify)."""

    codes: OneTimeCodes

    async def send(self, person: PersonView, call_id: int) -> bool:
        try:
            await self.codes.send(person, call_id)
        except (ServiceError, DeliveryError) as exc:
            log.warning("one-time code not sent for call %s: %s", call_id, type(exc).__name__)
            return False
        return True

    async def check(self, person: PersonView, typed: str) -> CodeCheck:
        result = await self.codes.check(person, typed)
        status = {
            VerifyStatus.OK: CodeStatus.OK,
            VerifyStatus.WRONG: CodeStatus.WRONG,
            VerifyStatus.LOCKED: CodeStatus.LOCKED,
            VerifyStatus.EXPIRED: CodeStatus.EXPIRED,
            VerifyStatus.NONE: CodeStatus.UNAVAILABLE,
        }[result.status]
        return CodeCheck(status, result.attempts_left)


def _category(category: CategoryView) -> ServiceCategory:
    items = tuple(ServiceItem(i.id, i.key, i.prompt, i.name) for i in category.items)
    return ServiceCategory(category.key, category.prompt, category.name, items)


@dataclass
class ServiceCatalog:
    services: Services

    async def tree(self) -> Sequence[ServiceCategory]:
        return [_category(c) for c in await from_caches(self.services.catalog.tree)]


@dataclass
class ServiceTickets:
    """Tickets through ``services.tickets`` (the protocol message queued with the ticket),
    pushed to the external helpdesk off the call; status read through the helpdesk sync."""

    services: Services

    async def open(self, new: NewTicket) -> TicketView:
        request = ticket_service.NewTicket(
            person_code=new.person.code,
            item_id=new.item.id,
            description=new.description,
            channel="phone",
            call_id=new.call_id,
            idempotency_key=new.idempotency_key,
            send_protocol=new.message is not None,
            protocol_message=new.message,
        )
        ticket, _ = await asyncio.to_thread(self.services.tickets.open, request, TICKET_ACTOR)
        self.services.helpdesk.push_soon()  # to the external helpdesk, if any
        return TicketView(ticket.id, ticket.protocol, ticket.item.name)

    async def status(self, person: PersonView, protocol: str) -> TicketStatusView | None:
        tickets = self.services.tickets
        ticket = await asyncio.to_thread(tickets.find_for_person, protocol, person.code)
        if ticket is None:
            return None
        answer = await self.services.helpdesk.status(ticket)
        return TicketStatusView(
            item_name=ticket.item.name,
            opened=ticket.created_at.astimezone(self.services.runtime.zone).date(),
            status=answer.status if answer.readable else None,
            external_number=answer.external_number,
        )


@dataclass
class ServiceProtocols:
    services: Services

    async def issue(
        self, call_id: int, person: PersonView | None, reason: str | None, message: str | None
    ) -> str:
        protocol = await asyncio.to_thread(
            self.services.protocols.issue,
            person_code=person.code if person else None,
            reason=reason or "",
            channel="phone",
            call_id=call_id,
            message=message,
        )
        return protocol.number

    async def link(
        self, number: str, person: PersonView | None, reason: str | None, message: str | None
    ) -> None:
        if person is None:  # nobody to tie it to: it stays the call's
            return
        await asyncio.to_thread(self.services.protocols.link, number, person.code, reason, message)


@dataclass
class ServiceHours:
    services: Services

    async def current(self) -> OpeningHours:
        return await from_caches(self.services.site.business_hours)


@dataclass(frozen=True)
class _Open:
    uniqueid: str
    caller_id: str | None


@dataclass
class ServiceCallLog:
    """The call record: ``services.calls``, its steps through the process's group-commit
    :class:`StepWriter`, and the external helpdesk's caller log (Zammad CTI)."""

    services: Services
    writer: StepWriter
    owner_id: int | None = None  # this process's row in ``processes`` (see call_owners)
    _open: dict[int, _Open] = field(default_factory=dict)

    async def start(
        self,
        uniqueid: str,
        caller_id: str | None,
        channel: str | None,
        flow: str,
        version: int | None,
    ) -> int:
        running = (flow, version) if version is not None else None
        call = NewCall(uniqueid, caller_id, channel, self.owner_id, running)
        call_id = await asyncio.to_thread(self.services.calls.begin, call)
        self._open[call_id] = _Open(uniqueid, caller_id)
        helpdesk = self.services.helpdesk
        helpdesk.call_event("newCall", uniqueid, caller_id)
        helpdesk.call_event("answer", uniqueid, caller_id)
        return call_id

    def step(self, call_id: int, event: StepEvent) -> None:
        self.writer.add(call_id, StepRecord(event.name, event.at, dict(event.detail)))

    async def identify(
        self, call_id: int, person: PersonView, *, claim_protocols: bool = True
    ) -> None:
        self.writer.add(call_id, Identified(person.id, claim_protocols))

    async def survey(self, call_id: int, score: int) -> None:
        self.writer.add(call_id, Surveyed(score))

    async def end(self, call_id: int, outcome: CallOutcome) -> None:
        # The batch commits at once (batches commit in order: the call's earlier changes are
        # stored by then); the session ends when it is durable.
        ended = Ended(outcome, self.services.runtime.clock())
        await asyncio.shield(self.writer.add(call_id, ended, at_once=True))
        current = self._open.pop(call_id, None)
        if current is not None:
            self.services.helpdesk.call_event(
                "hangup", current.uniqueid, current.caller_id, outcome
            )


@dataclass
class ServiceRecordings:
    """Callers' messages: files under the data directory, rows by ``services.recordings``."""

    recordings: RecordingService

    def path_for(self, call_id: int) -> str:
        # A random part: a name nobody can guess from the call's id.
        return str(self.recordings.directory / f"call-{call_id}-{secrets.token_hex(8)}")

    async def attach(self, call_id: int, path: str, protocol: str | None) -> None:
        await asyncio.to_thread(self.recordings.attach, call_id, Path(path), protocol)
