"""Issuing and checking one-time codes, with every count kept in the database.

Several FastAGI processes may serve one person's call and the API may resend a code, so sends
and wrong entries are counted in ``one_time_codes`` rows, never in process memory, and each
check locks the row it reads (``SELECT ... FOR UPDATE`` on PostgreSQL and MariaDB; SQLite
transactions here begin ``IMMEDIATE`` and so already run one writer at a time). Only the keyed
hash of a code is stored (see :mod:`atende.domain.otp_policy`); neither the code nor the
person's phone is ever logged.

The checks and sends are awaited by phone calls sharing one event loop, so their database work
runs in worker threads: a transaction waiting for a row lock holds up only its own call.

Only a person's newest code is alive: a check always reads the newest row, so issuing a code
ends the earlier ones without touching them, and typing an old code counts as a wrong entry
against the new one.

:meth:`OneTimeCodes.send` gets a code to the caller's phone at once: through the code verifier
when one is configured (a :class:`~atende.messaging.port.CodeVerifier` such as Twilio Verify
makes the code up and later checks it; the row then counts sends and wrong entries only), else,
or when the verifier fails, as a message through the channel chain, whose first channel that
answers carries it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from atende.db.models import OneTimeCode, Person
from atende.domain.otp_policy import (
    CODE_LIFETIME,
    MAX_SENDS,
    MAX_WRONG_ENTRIES,
    SEND_WINDOW,
    code_matches,
    generate_code,
    hash_code,
)
from atende.messaging import CodeVerifier, DeliveryError, Messenger, OutgoingMessage
from atende.services.errors import NotFound, ServiceError
from atende.texts import DEFAULT_LANGUAGE, text

log = logging.getLogger(__name__)

OTP_TEMPLATE = "otp_message"


class TooManyCodes(ServiceError):
    """The person was sent :data:`MAX_SENDS` codes in the last hour; ``retry_at`` says when."""

    status = 429
    code = "too_many_codes"

    def __init__(self, retry_at: datetime) -> None:
        super().__init__(f"too many codes sent in the last hour; try again after {retry_at}")
        self.retry_at = retry_at


class CodeRecipient(Protocol):
    """Whom a code goes to: a person's row, or the flow engine's view of one."""

    @property
    def id(self) -> int: ...

    @property
    def phone(self) -> str | None: ...


class VerifyStatus(Enum):
    OK = "ok"
    WRONG = "wrong"  # the code stays alive for ``attempts_left`` more entries
    LOCKED = "locked"  # too many wrong entries: the code is dead, a new one must be sent
    EXPIRED = "expired"
    NONE = "none"  # no code was sent, or the last one was already used


@dataclass(frozen=True)
class VerifyResult:
    status: VerifyStatus
    attempts_left: int = 0

    @property
    def ok(self) -> bool:
        return self.status is VerifyStatus.OK


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("one-time codes need an aware datetime, not a naive one")
    return now


class OneTimeCodes:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        key: bytes,
        *,
        messenger: Messenger | None = None,
        verifier: CodeVerifier | None = None,
        language: str = DEFAULT_LANGUAGE,
    ) -> None:
        self.sessions = sessions
        self._key = key
        self.messenger = messenger
        self.verifier = verifier
        self.language = language

    async def send(self, person: CodeRecipient, call_id: int | None = None) -> None:
        """Issue a code for ``person`` and get it to their phone now.

        Raises TooManyCodes or NotFound (nothing sent), or DeliveryError when no channel took it.
        """
        phone = person.phone or ""
        verifier = self.verifier
        via = verifier.name if verifier is not None else None
        code = await asyncio.to_thread(self.issue, person.id, call_id, None, via)
        if verifier is not None:
            try:
                await verifier.start(phone)
                return
            except DeliveryError as exc:
                log.warning("%s failed (%s): code sent through the chain instead", via, exc)
                await asyncio.to_thread(self._sent_by_us, person.id)
        if self.messenger is None:
            raise DeliveryError("no message channel to send one-time codes", retryable=False)
        message = OutgoingMessage(
            to=phone,
            text=text(OTP_TEMPLATE, self.language, code=code),
            kind="otp",
            template=OTP_TEMPLATE,
            fields={"code": code},
        )
        await self.messenger.send_now(message, person_id=person.id)

    async def check(self, person: CodeRecipient, typed: str) -> VerifyResult:
        """:meth:`verify` for a code :meth:`send` sent: the verifier checks the codes it sent."""
        verifier = self.verifier
        if verifier is None:
            return await asyncio.to_thread(self.verify, person.id, typed)
        now = _now(None)
        row = await asyncio.to_thread(self._newest_code, person.id)
        if row is None or row.sent_via != verifier.name:
            return await asyncio.to_thread(self.verify, person.id, typed)
        refusal = _refusal(row, now)
        if refusal is not None:
            return refusal
        try:
            matched = bool(typed) and await verifier.check(person.phone or "", typed)
        except DeliveryError as exc:
            log.warning("one-time code %s: %s cannot check it: %s", row.id, verifier.name, exc)
            return VerifyResult(VerifyStatus.NONE)
        return await asyncio.to_thread(self._record_check, person.id, row.id, matched, now)

    def _newest_code(self, person_id: int) -> OneTimeCode | None:
        with self.sessions() as session:
            return _newest(session, person_id)

    def _record_check(
        self, person_id: int, row_id: int, matched: bool, now: datetime
    ) -> VerifyResult:
        """Record what the verifier said of code ``row_id``, unless a newer one was sent."""
        with self.sessions.begin() as session:
            locked = _newest(session, person_id, lock=True)
            if locked is None or locked.id != row_id:
                return VerifyResult(VerifyStatus.NONE)  # a newer code was sent meanwhile
            result = _refusal(locked, now) or _record(locked, matched, now)
        log.info("one-time code %s for person %s: %s", row_id, person_id, result.status.value)
        return result

    def _sent_by_us(self, person_id: int) -> None:
        with self.sessions.begin() as session:
            row = _newest(session, person_id, lock=True)
            if row is not None:
                row.sent_via = None

    def issue(
        self,
        person_id: int,
        call_id: int | None = None,
        now: datetime | None = None,
        via: str | None = None,
    ) -> str:
        """A new code for ``person_id``, to be sent and never stored in clear; ``via`` names
        the verifier that sends and checks it instead (Twilio Verify).

        Older codes need no update: :meth:`verify` only ever reads the newest one.
        """
        now = _now(now)
        with self.sessions.begin() as session:
            # Locking the person row makes concurrent sends to one person take turns, so two of
            # them cannot both see 4 recent codes and both add a 5th. FOR NO KEY UPDATE on
            # PostgreSQL: rows that only reference the person (tickets) are not held up.
            person = session.scalar(
                select(Person.id).where(Person.id == person_id).with_for_update(key_share=True)
            )
            if person is None:
                raise NotFound(f"no person with id {person_id}", field="person_id")
            recent = session.execute(
                select(func.count(), func.min(OneTimeCode.created_at)).where(
                    OneTimeCode.person_id == person_id,
                    OneTimeCode.created_at > now - SEND_WINDOW,
                )
            ).one()
            if recent[0] >= MAX_SENDS:
                log.info("one-time code refused: send limit reached for person %s", person_id)
                raise TooManyCodes(retry_at=recent[1] + SEND_WINDOW)
            code = generate_code()
            row = OneTimeCode(
                person_id=person_id,
                call_id=call_id,
                code_hash=hash_code(self._key, person_id, code),
                created_at=now,
                expires_at=now + CODE_LIFETIME,
                attempts=0,
                sent_via=via,
            )
            session.add(row)
            session.flush()
            log.info("one-time code %s issued to person %s", row.id, person_id)
        return code

    def verify(self, person_id: int, code: str, now: datetime | None = None) -> VerifyResult:
        """Check ``code`` against the person's newest code; a match uses it up."""
        now = _now(now)
        with self.sessions.begin() as session:
            row = _newest(session, person_id, lock=True)
            result = self._check(row, code, now)
            log.info(
                "one-time code %s for person %s: %s",
                row.id if row else None,
                person_id,
                result.status.value,
            )
        return result

    def _check(self, row: OneTimeCode | None, code: str, now: datetime) -> VerifyResult:
        refusal = _refusal(row, now)
        if refusal is not None:
            return refusal
        assert row is not None  # a missing row is a refusal
        return _record(row, code_matches(self._key, row.person_id, code, row.code_hash), now)

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete dead codes, keeping the last hour's: they still count towards the send limit."""
        now = _now(now)
        with self.sessions.begin() as session:
            result = session.execute(
                delete(OneTimeCode).where(
                    OneTimeCode.expires_at <= now,
                    OneTimeCode.created_at <= now - SEND_WINDOW,
                )
            )
        return int(result.rowcount)  # type: ignore[attr-defined]


def _newest(session: Session, person_id: int, lock: bool = False) -> OneTimeCode | None:
    query = (
        select(OneTimeCode)
        .where(OneTimeCode.person_id == person_id)
        .order_by(OneTimeCode.id.desc())
        .limit(1)
    )
    return session.scalar(query.with_for_update() if lock else query)


def _refusal(row: OneTimeCode | None, now: datetime) -> VerifyResult | None:
    """Why ``row`` cannot be checked at all (none, used, locked, expired), or None."""
    if row is None or row.used_at is not None:
        return VerifyResult(VerifyStatus.NONE)
    if row.attempts >= MAX_WRONG_ENTRIES:
        return VerifyResult(VerifyStatus.LOCKED)
    if row.expires_at <= now:
        return VerifyResult(VerifyStatus.EXPIRED)
    return None


def _record(row: OneTimeCode, matched: bool, now: datetime) -> VerifyResult:
    """Use the code up when it matched, else count a wrong entry."""
    if matched:
        row.used_at = now
        return VerifyResult(VerifyStatus.OK)
    row.attempts += 1
    if row.attempts >= MAX_WRONG_ENTRIES:
        return VerifyResult(VerifyStatus.LOCKED)
    return VerifyResult(VerifyStatus.WRONG, attempts_left=MAX_WRONG_ENTRIES - row.attempts)
