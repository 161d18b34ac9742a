"""Sending messages to people through a chain of channels, with a record of each one.

Every message gets a row in the ``messages`` table, which the dashboard shows: the recipient
masked, and for one-time codes the code masked too, so a code is only ever in clear at the
provider (or in the development outbox). One-time codes go out at once (:meth:`send_now`: a
caller is waiting on the line, and a late code is useless). Other messages (protocol numbers,
status changes) are queued and delivered by :meth:`deliver_due`, retried with growing delays,
so that a provider outage delays them instead of losing them; a queued row is claimed by
bumping its attempt count, so several processes may run ``deliver_due`` at once.

A queued row keeps only the masked recipient: at delivery the address comes back from the
person's record (the phone or e-mail the mask was made from). It keeps the template and its
fields too, so a retry through a template channel (WhatsApp) sends what the first try would
have. A provider that answers "too many requests, retry after N seconds" is not tried again
before then. Database work runs in worker threads, off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from atende.db.claims import claim_due
from atende.db.models import Message, Person, utcnow
from atende.domain.identity import mask
from atende.messaging.port import (
    DeliveryError,
    MessageChannel,
    MessageKind,
    OutgoingMessage,
    SendResult,
    Unaddressable,
)
from atende.metrics import MESSAGE_CHANNEL_FAILURES, MESSAGES_SENT

log = logging.getLogger(__name__)

SENDING, SENT, QUEUED, FAILED = "sending", "sent", "queued", "failed"

_CODE = re.compile(r"\d{4,}")


def _masked_code(value: str) -> str:
    return _CODE.sub(lambda match: "*" * len(match.group()), value)


def text_at_rest(message: OutgoingMessage) -> str:
    """The text as stored: in a one-time code message every run of 4+ digits is masked."""
    return _masked_code(message.text) if message.kind == "otp" else message.text


def message_values(
    message: OutgoingMessage,
    *,
    channel: str,
    status: str,
    attempts: int,
    now: datetime,
    person_id: int | None = None,
    ticket_id: int | None = None,
) -> dict[str, object]:
    """The ``messages`` row recording ``message``, as column values: recipient masked, a
    one-time code masked.

    Also used to queue a message inside another transaction (a ticket opened, its status
    changed), so the message exists exactly when the change does.
    """
    fields = dict(message.fields)
    if message.kind == "otp":
        fields = {name: _masked_code(value) for name, value in fields.items()}
    return {
        "person_id": person_id,
        "ticket_id": ticket_id,
        "channel": channel,
        "recipient": mask(message.to),
        "kind": message.kind,
        "text": text_at_rest(message),
        "template": message.template,
        "template_fields": fields or None,
        "status": status,
        "attempts": attempts,
        "created_at": now,
        "next_attempt_at": now if status == QUEUED else None,
    }


@dataclass(frozen=True)
class _Claimed:
    id: int
    attempts: int
    message: OutgoingMessage | None  # None: the person's record no longer has the recipient


class Messenger:
    """Sends through ``channels`` in order: the first that takes a message delivers it."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        channels: Sequence[MessageChannel],
        *,
        clock: Callable[[], datetime] = utcnow,
        max_attempts: int = 12,
        first_retry: timedelta = timedelta(seconds=30),
        max_retry: timedelta = timedelta(hours=1),
        lease: timedelta = timedelta(minutes=5),
    ) -> None:
        if not channels:
            raise ValueError("a messenger needs at least one channel")
        self.sessions = sessions
        self.channels = list(channels)
        self.clock = clock
        self.max_attempts = max_attempts
        self.first_retry = first_retry
        self.max_retry = max_retry
        self.lease = lease

    async def send_now(
        self, message: OutgoingMessage, person_id: int | None = None, ticket_id: int | None = None
    ) -> SendResult:
        """Send at once (one-time codes). Raises DeliveryError when every channel failed."""
        row = self._row(message, SENDING, 1, person_id, ticket_id)
        message_id = await asyncio.to_thread(self._insert, row)
        try:
            channel, result = await self._try_channels(message_id, message)
        except DeliveryError as exc:
            await asyncio.to_thread(self._finish, message_id, FAILED, error=str(exc))
            raise
        await asyncio.to_thread(
            self._finish, message_id, SENT, channel=channel, provider_id=result.provider_id
        )
        return result

    async def enqueue(
        self, message: OutgoingMessage, person_id: int, ticket_id: int | None = None
    ) -> int:
        """Queue a message to ``person_id``'s phone or e-mail (``message.to``); returns its id.

        :meth:`deliver_due` sends it; the address is read again from the person's record then.
        """
        row = self._row(message, QUEUED, 0, person_id, ticket_id)
        return await asyncio.to_thread(self._insert, row)

    async def deliver_due(self, limit: int = 100, holder: int | None = None) -> int:
        """Try the queued messages whose time has come, claimed for process ``holder`` (see
        db.claims); returns how many were sent."""
        sent = 0
        for claimed in await asyncio.to_thread(self._claim_due, limit, holder):
            message = claimed.message
            if message is None:
                error = "the person's record no longer has this recipient"
                await asyncio.to_thread(self._finish, claimed.id, FAILED, error=error)
                continue
            try:
                channel, result = await self._try_channels(claimed.id, message)
            except DeliveryError as exc:
                await asyncio.to_thread(self._retry_or_fail, claimed, exc)
                continue
            await asyncio.to_thread(
                self._finish, claimed.id, SENT, channel=channel, provider_id=result.provider_id
            )
            sent += 1
        return sent

    async def _try_channels(
        self, message_id: int, message: OutgoingMessage
    ) -> tuple[str, SendResult]:
        retryable = False
        waits: list[float] = []
        for channel in self.channels:
            try:
                result = await channel.send(message)
            except Unaddressable as exc:
                reason = str(exc)  # not the provider's fault: no failure counted
                log.info("message %d: %s, next channel", message_id, reason)
                continue
            except DeliveryError as exc:
                retryable = retryable or exc.retryable
                reason = str(exc)
                if exc.retry_after is not None:
                    waits.append(exc.retry_after)
            except Exception as exc:
                # An adapter bug or an unexpected network error: its text may hold the address.
                retryable = True
                reason = type(exc).__name__
            else:
                log.info(
                    "message %d (%s) to %s sent via %s",
                    message_id,
                    message.kind,
                    mask(message.to),
                    channel.name,
                )
                MESSAGES_SENT.labels(channel.name, message.kind).inc()
                return channel.name, result
            MESSAGE_CHANNEL_FAILURES.labels(channel.name).inc()
            log.warning("message %d: channel %s failed: %s", message_id, channel.name, reason)
        # Retry when the most patient provider asked to: an earlier try would fail again.
        raise DeliveryError(
            f"every channel failed, last: {reason}",
            retryable=retryable,
            retry_after=max(waits) if waits else None,
        )

    def _row(
        self,
        message: OutgoingMessage,
        status: str,
        attempts: int,
        person_id: int | None,
        ticket_id: int | None,
    ) -> Message:
        return Message(
            **message_values(
                message,
                channel=self.channels[0].name,
                status=status,
                attempts=attempts,
                now=self.clock(),
                person_id=person_id,
                ticket_id=ticket_id,
            )
        )

    def _insert(self, row: Message) -> int:
        with self.sessions.begin() as session:
            session.add(row)
            session.flush()
            return row.id

    def _finish(
        self,
        message_id: int,
        status: str,
        *,
        channel: str | None = None,
        provider_id: str | None = None,
        error: str | None = None,
    ) -> None:
        values: dict[str, object] = {
            "status": status,
            "error": error,
            "next_attempt_at": None,
            "claimed_by": None,
        }
        if status == SENT:
            values.update(channel=channel, provider_id=provider_id, sent_at=self.clock())
        with self.sessions.begin() as session:
            session.execute(update(Message).where(Message.id == message_id).values(**values))

    def _retry_or_fail(self, claimed: _Claimed, exc: DeliveryError) -> None:
        if not exc.retryable or claimed.attempts >= self.max_attempts:
            self._finish(claimed.id, FAILED, error=str(exc))
            log.warning("message %d failed after %d attempts", claimed.id, claimed.attempts)
            return
        delay = min(self.first_retry * 2 ** (claimed.attempts - 1), self.max_retry)
        if exc.retry_after is not None:
            delay = max(delay, timedelta(seconds=exc.retry_after))
        with self.sessions.begin() as session:
            session.execute(
                update(Message)
                .where(Message.id == claimed.id)
                .values(
                    status=QUEUED,
                    error=str(exc),
                    next_attempt_at=self.clock() + delay,
                    claimed_by=None,
                )
            )

    def _claim_due(self, limit: int, holder: int | None) -> list[_Claimed]:
        now = self.clock()
        claimed: list[_Claimed] = []
        with self.sessions.begin() as session:
            waiting = Message.status == QUEUED
            for row, attempts in claim_due(
                session, Message, waiting, now, self.lease, limit, holder
            ):
                person = session.get(Person, row.person_id) if row.person_id else None
                address = _address(person, row.recipient)
                message = None
                if address is not None:
                    message = OutgoingMessage(
                        to=address,
                        text=row.text,
                        kind=cast(MessageKind, row.kind),
                        template=row.template,
                        fields=dict(row.template_fields or {}),
                        key=message_key(row),
                    )
                claimed.append(_Claimed(row.id, attempts, message))
        return claimed


def message_key(row: Message) -> str:
    """The same name for a queued message on every attempt, from any process; the creation
    time keeps it apart from another installation's (or a restored backup's) same row id."""
    return f"atende-message-{row.id}-{row.created_at:%Y%m%d%H%M%S%f}"


def _address(person: Person | None, masked: str) -> str | None:
    """The person's phone or e-mail that ``masked`` was made from, if still on record."""
    if person is None:
        return None
    for address in (person.phone, person.email):
        if address and mask(address) == masked:
            return address
    return None
