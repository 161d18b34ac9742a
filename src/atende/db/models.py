"""The tables: people, catalog, tickets and their history, protocols, calls, tokens, codes.

Every timestamp is stored in UTC and comes back timezone-aware (:class:`UTCDateTime`), so the
same code reads SQLite, PostgreSQL and MariaDB rows alike. Nothing here is ever deleted by the
application except expired one-time codes: tickets and protocols are records of service.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeEngine


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A DateTime that always hands back an aware UTC value, whatever the backend stores."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[datetime]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))  # keep microseconds
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        # MariaDB has no time zone in DATETIME; SQLite stores text: keep both naive UTC.
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Identifiers are BIGINT on servers, INTEGER on SQLite (where only INTEGER PRIMARY KEY is the
# fast rowid alias that autoincrements).
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(200))
    card_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    cpf: Mapped[str | None] = mapped_column(String(11), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    notifications_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    extensions: Mapped[list[PersonExtension]] = relationship(
        back_populates="person",
        cascade="all, delete-orphan",
        order_by="PersonExtension.id",
        lazy="selectin",
    )


class PersonExtension(Base):
    __tablename__ = "person_extensions"
    __table_args__ = (UniqueConstraint("person_id", "extension"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    extension: Mapped[str] = mapped_column(String(32), index=True)

    person: Mapped[Person] = relationship(back_populates="extensions")


class Category(Base):
    __tablename__ = "catalog_categories"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(1), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    prompt: Mapped[str] = mapped_column(String(300))

    items: Mapped[list[Item]] = relationship(
        back_populates="category", order_by="Item.key", lazy="selectin"
    )


class Item(Base):
    __tablename__ = "catalog_items"
    __table_args__ = (UniqueConstraint("category_id", "key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("catalog_categories.id"))
    key: Mapped[str] = mapped_column(String(1))
    name: Mapped[str] = mapped_column(String(100))
    prompt: Mapped[str] = mapped_column(String(300))

    category: Mapped[Category] = relationship(back_populates="items", lazy="joined")


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (Index("ix_calls_flow_name", "flow_name", "flow_version"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    uniqueid: Mapped[str] = mapped_column(String(64), unique=True)
    caller_id: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(128))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(32), index=True)
    last_step: Mapped[str | None] = mapped_column(String(64))
    survey_score: Mapped[int | None] = mapped_column(Integer)
    # The process serving the call (see services.call_owners); None for calls of older versions.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("processes.id"), index=True)
    # The flow and version the call ran (issue 11); None for calls of older versions.
    flow_name: Mapped[str | None] = mapped_column(String(64))
    flow_version: Mapped[int | None] = mapped_column(Integer)

    events: Mapped[list[CallEvent]] = relationship(
        back_populates="call", order_by="CallEvent.seq", lazy="selectin"
    )


class Process(Base):
    """One start of an atende process that serves calls, alive while its heartbeat is fresh."""

    __tablename__ = "processes"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    node: Mapped[str] = mapped_column(String(100), index=True)  # ATENDE_NODE_NAME or hostname
    pid: Mapped[int] = mapped_column(Integer)
    # The ``atende serve --workers N`` whose worker this is: its workers share a SQLite file.
    supervisor_pid: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class HousekeepingTurn(Base):
    """When a periodic job that must run once for all processes and nodes is next due, and
    which process took its last turn (see services.housekeeping)."""

    __tablename__ = "housekeeping"

    job: Mapped[str] = mapped_column(String(100), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    taken_by: Mapped[str] = mapped_column(String(200))  # node:pid


class CallEvent(Base):
    __tablename__ = "call_events"
    __table_args__ = (UniqueConstraint("call_id", "seq"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    step: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)

    call: Mapped[Call] = relationship(back_populates="events")


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    protocol: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("catalog_items.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    assignee: Mapped[str | None] = mapped_column(String(100))
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person] = relationship(lazy="joined")
    item: Mapped[Item] = relationship(lazy="joined")
    history: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", lazy="selectin"
    )


class TicketEvent(Base):
    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")

    ticket: Mapped[Ticket] = relationship(back_populates="history")


class AttendanceProtocol(Base):
    __tablename__ = "attendance_protocols"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"))
    channel: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    person: Mapped[Person | None] = relationship(lazy="joined")
    ticket: Mapped[Ticket | None] = relationship(lazy="joined")


class ProtocolSequence(Base):
    """One counter per scope (a day for ``ans``, a year for ``helpdesk``); see db.sequences."""

    __tablename__ = "protocol_sequences"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    allow: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OneTimeCode(Base):
    """A code sent to a caller's phone; only its hash is kept (NIST SP 800-63B)."""

    __tablename__ = "one_time_codes"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_via: Mapped[str | None] = mapped_column(String(32))  # "twilio-verify": Twilio checks


class Message(Base):
    """Every message sent to a person, with its recipient masked for display.

    ``template`` and ``template_fields`` (the text's key in ``atende.texts`` and the values it
    was filled with; a one-time code's value masked) let a retry send the same template again.
    """

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    template: Mapped[str | None] = mapped_column(String(64))
    template_fields: Mapped[dict[str, str] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    claimed_by: Mapped[int | None] = mapped_column(Id, index=True)  # processes.id (claims)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ExternalTicket(Base):
    """A ticket's copy in an external helpdesk (issue 5): the push outbox and the link back.

    A row is written in the transaction that opens the ticket, so no ticket can miss it; the
    push worker sends it (``idempotency_key`` travels with every attempt), then keeps the
    external id, the number people see there and the last status read from it.
    """

    __tablename__ = "external_tickets"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    system: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    claimed_by: Mapped[int | None] = mapped_column(Id, index=True)  # processes.id (claims)
    external_id: Mapped[str | None] = mapped_column(String(64))
    external_ref: Mapped[str | None] = mapped_column(String(64))
    external_status: Mapped[str | None] = mapped_column(String(64))
    status_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class User(Base):
    """A member of the support team who signs in to the dashboard (role technician or admin)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserSession(Base):
    """A signed-in browser: only the hash of its cookie is kept, with its CSRF token."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    user: Mapped[User] = relationship(lazy="joined")


class SiteSetting(Base):
    """A setting changed in the dashboard; it overrides the ``ATENDE_*`` default of that name."""

    __tablename__ = "site_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100))


class Holiday(Base):
    """A closed day added in the dashboard: ``YYYY-MM-DD`` once, or ``MM-DD`` every year."""

    __tablename__ = "holidays"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    day: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(100))


class LoginAttempts(Base):
    """Sign-in attempts of one user name or one client address in the current window.

    ``key`` is a SHA-256 of ``name:<username>`` or ``address:<ip>`` (no name or address in
    clear); the row is reused for a new window once ``expires_at`` has passed.
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


# MariaDB's TEXT holds 64 KiB; a large flow with many texts may pass that.
FlowText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


class FlowVersion(Base):
    """One published version of a call flow: the YAML text exactly as published (issue 11).

    Never changed nor deleted: a call records the (name, version) it ran. The current version
    of a name is its highest; restoring an old one appends a copy (``restored_from``).
    """

    __tablename__ = "flow_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_flow_versions_name_version"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(FlowText)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by: Mapped[str] = mapped_column(String(120))  # cli:<user>, web:<member>, api:<token>
    note: Mapped[str] = mapped_column(Text, default="")
    restored_from: Mapped[int | None] = mapped_column(Integer)


class FlowRoute(Base):
    """A dialled number (``agi_dnid``/``agi_extension``) whose calls run the flow ``flow_name``."""

    __tablename__ = "flow_routes"

    number: Mapped[str] = mapped_column(String(64), primary_key=True)
    flow_name: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Recording(Base):
    """A caller's recorded message (a ``record_message`` node): the file under the data
    directory, tied to its call and to the ticket or attendance protocol it is about."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    protocol: Mapped[str | None] = mapped_column(String(32), index=True)
    file: Mapped[str] = mapped_column(String(200))  # its name in the recordings directory
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
