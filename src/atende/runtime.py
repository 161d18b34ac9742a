"""The parts one running atende shares: settings, database, protocol scheme, the clock, and
the changes its caches hear of.

Built once per process by :func:`build_runtime`; the HTTP app, the FastAGI server and the CLI
all receive the same object, so tests can build one against any database URL. ``sessions``
are for work that writes; ``reads`` for lookups that only read (on SQLite they neither queue
behind writers nor hold up the next one: see atende.db.engine).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from atende.config import Settings
from atende.db.engine import make_engine, make_session_factory
from atende.domain.protocol_numbers import ProtocolScheme
from atende.services.cache import Changes


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    scheme: ProtocolScheme
    changes: Changes
    clock: Callable[[], datetime] = field(default=_utcnow)
    reads: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.reads = make_session_factory(self.engine, reads=True)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)

    def today(self) -> date:
        """The local calendar day (protocol numbers and business hours are local)."""
        return self.clock().astimezone(self.zone).date()


def build_runtime(settings: Settings, engine: Engine | None = None) -> Runtime:
    engine = engine or make_engine(settings.effective_database_url, settings.database_connections)
    scheme = ProtocolScheme(
        format=settings.protocol_format,
        ans_registration=settings.ans_registration,
        check_digit=settings.protocol_check_digit,
    )
    sessions = make_session_factory(engine)
    return Runtime(settings, engine, sessions, scheme, Changes(engine, sessions))
