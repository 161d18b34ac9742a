"""Telling a person what happened to their request: a message queued with the change itself.

A ticket's protocol number when it is opened, an attendance protocol when its caller is known,
a ticket's status change: the message row is added inside the transaction that makes the
change, so a change and its message are stored together or not at all: no crash, hang-up or
fault between the two can lose one. The background delivery of
:class:`atende.messaging.Messenger` sends it through the configured channel chain, retrying
through outages. A person with neither a phone nor an e-mail address gets nothing; one who
opted out of notifications gets no status change (a protocol number is the record of their
own request, not a notice, and always goes).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, cast

from sqlalchemy import Connection, Table, insert
from sqlalchemy.orm import Session

from atende.adapters import CHANNELS
from atende.config import Settings
from atende.db.models import AttendanceProtocol, Message, Person, Ticket
from atende.domain.ticket_status import TicketStatus
from atende.messaging.messenger import QUEUED, message_values
from atende.messaging.port import MessageKind, OutgoingMessage
from atende.services.people import PersonView
from atende.texts import text

if TYPE_CHECKING:  # tickets queue their messages here: a runtime import would be circular
    from atende.services.tickets import TicketView

log = logging.getLogger(__name__)

STATUS_CHANGE_TEMPLATE = "status_change_message"
TICKET_PROTOCOL_TEMPLATE = "protocol_message"
ATTENDANCE_PROTOCOL_TEMPLATE = "attendance_protocol_message"
INSERT_MESSAGE = insert(cast(Table, Message.__table__))  # built once (a declarative Table)


def person_message(
    person: Person | PersonView,
    kind: MessageKind,
    template: str,
    fields: dict[str, str],
    language: str,
    wording: str | None = None,
) -> OutgoingMessage:
    """The text ``template`` filled with ``fields``, to ``person``'s phone, else their e-mail.
    ``wording``, when given, is the text instead (a flow's own, with ``{protocol}`` still to
    fill); ``template`` and ``fields`` stay for channels that send approved templates.
    Raises ValueError when the person has neither."""
    address = person.phone or person.email
    if not address:
        raise ValueError("the person has no phone and no e-mail address")
    if wording is not None:
        said = wording.replace("{protocol}", fields.get("protocol", ""))
    else:
        said = text(template, language, **fields)
    return OutgoingMessage(
        to=address,
        text=said,
        kind=kind,
        template=template,
        fields=fields,
    )


def status_change_message(ticket: Ticket, status: TicketStatus, language: str) -> OutgoingMessage:
    """The message telling ``ticket``'s requester it is now ``status`` (to their phone, else
    their e-mail). Raises ValueError when the person has neither."""
    fields = {
        "item": ticket.item.name,
        "protocol": ticket.protocol,
        "status": text(f"status_{status.value}", language),
    }
    return person_message(ticket.person, "status_change", STATUS_CHANGE_TEMPLATE, fields, language)


def queue_status_change(
    session: Session,
    ticket: Ticket,
    status: TicketStatus,
    settings: Settings,
    now: datetime,
) -> Message | None:
    """Add, in ``session``'s transaction, the message telling the requester about ``status``.

    Returns None when the person opted out or has no address.
    """
    if ticket.person.notifications_opt_out:
        log.info("ticket %s: requester opted out of notifications", ticket.id)
        return None
    try:
        message = status_change_message(ticket, status, settings.language)
    except ValueError:
        log.info("ticket %s: requester has no address for notifications", ticket.id)
        return None
    return _queue(session, message, ticket.person, settings, now, ticket.id)


def insert_ticket_protocol(
    connection: Connection,
    ticket: TicketView,
    settings: Settings,
    now: datetime,
    wording: str | None = None,
) -> bool:
    """Insert, in ``connection``'s transaction, the message with a ticket's protocol number
    (``wording``: the flow's text, with ``{protocol}``; else atende's). An ORM session
    passes ``session.connection()``.

    Returns False when the requester has neither a phone nor an e-mail address.
    """
    fields = {"item": ticket.item.name, "protocol": ticket.protocol}
    message = _protocol_message(ticket.person, TICKET_PROTOCOL_TEMPLATE, fields, settings, wording)
    if message is None:
        return False
    values = _values(message, ticket.person.id, settings, now, ticket.id)
    connection.execute(INSERT_MESSAGE, values)
    return True


def queue_attendance_protocol(
    session: Session,
    protocol: AttendanceProtocol,
    person: Person,
    settings: Settings,
    now: datetime,
    wording: str | None = None,
) -> Message | None:
    """Add, in ``session``'s transaction, the message with an attendance protocol (RN 623: the
    beneficiary receives the protocol number; ``wording``: the flow's text, with
    ``{protocol}``; else atende's). None when ``person`` has no address."""
    fields = {"protocol": protocol.number}
    return _queue_protocol(
        session,
        ATTENDANCE_PROTOCOL_TEMPLATE,
        fields,
        person,
        settings,
        now,
        protocol.ticket_id,
        wording,
    )


def _queue_protocol(
    session: Session,
    template: str,
    fields: dict[str, str],
    person: Person,
    settings: Settings,
    now: datetime,
    ticket_id: int | None,
    wording: str | None = None,
) -> Message | None:
    message = _protocol_message(person, template, fields, settings, wording)
    if message is None:
        return None
    return _queue(session, message, person, settings, now, ticket_id)


def _protocol_message(
    person: Person | PersonView,
    template: str,
    fields: dict[str, str],
    settings: Settings,
    wording: str | None,
) -> OutgoingMessage | None:
    try:
        return person_message(person, "protocol", template, fields, settings.language, wording)
    except ValueError:
        log.info("person %s has no address for the protocol message", person.id)
        return None


def _queue(
    session: Session,
    message: OutgoingMessage,
    person: Person,
    settings: Settings,
    now: datetime,
    ticket_id: int | None,
) -> Message:
    row = Message(**_values(message, person.id, settings, now, ticket_id))
    session.add(row)
    return row


def _values(
    message: OutgoingMessage,
    person_id: int,
    settings: Settings,
    now: datetime,
    ticket_id: int | None,
) -> dict[str, object]:
    return message_values(
        message,
        channel=CHANNELS.selected(settings)[0],  # shown until a channel of the chain takes it
        status=QUEUED,
        attempts=0,
        now=now,
        person_id=person_id,
        ticket_id=ticket_id,
    )
