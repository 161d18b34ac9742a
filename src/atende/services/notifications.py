"""Telling a requester that their ticket moved: a message queued with the status change itself.

The message row is added inside the transaction that changes the ticket, so a change and its
notification are stored together or not at all: no crash between the two can lose one. The
background delivery of :class:`atende.messaging.Messenger` sends it through the configured
channel chain, retrying through outages. A person who opted out, or who has neither a phone
nor an e-mail address, gets nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from atende.config import Settings
from atende.db.models import Message, Ticket
from atende.domain.ticket_status import TicketStatus
from atende.messaging import channel_names
from atende.messaging.messenger import QUEUED, message_row
from atende.messaging.port import OutgoingMessage
from atende.texts import text

log = logging.getLogger(__name__)

STATUS_CHANGE_TEMPLATE = "status_change_message"


def status_change_message(ticket: Ticket, status: TicketStatus, language: str) -> OutgoingMessage:
    """The message telling ``ticket``'s requester it is now ``status`` (to their phone, else
    their e-mail). Raises ValueError when the person has neither."""
    person = ticket.person
    address = person.phone or person.email
    if not address:
        raise ValueError("the person has no phone and no e-mail address")
    fields = {
        "item": ticket.item.name,
        "protocol": ticket.protocol,
        "status": text(f"status_{status.value}", language),
    }
    return OutgoingMessage(
        to=address,
        text=text(STATUS_CHANGE_TEMPLATE, language, **fields),
        kind="status_change",
        template=STATUS_CHANGE_TEMPLATE,
        fields=fields,
    )


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
    person = ticket.person
    if person.notifications_opt_out:
        log.info("ticket %s: requester opted out of notifications", ticket.id)
        return None
    try:
        message = status_change_message(ticket, status, settings.language)
    except ValueError:
        log.info("ticket %s: requester has no address for notifications", ticket.id)
        return None
    row = message_row(
        message,
        channel=channel_names(settings)[0],  # shown until a channel of the chain takes it
        status=QUEUED,
        attempts=0,
        now=now,
        person_id=person.id,
        ticket_id=ticket.id,
    )
    session.add(row)
    return row
