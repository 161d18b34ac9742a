"""Caches of the data that rarely changes, dropped at once when it does, in every process.

The phone flow re-read unchanging rows on every call (issue 12: the catalog tree alone took
9.4% of the server's time). A :class:`TopicCache` keeps values per key, loaded on a miss; a
service that changes the data publishes its *topic* through :class:`Changes` inside the
writing transaction:

* in this process, every cache of the topic drops its values as soon as the transaction
  commits (a revoked token is refused by the next request);
* on PostgreSQL, ``pg_notify`` in the same transaction (delivered only if it commits) reaches
  the listener of every other process and node (:meth:`Changes.listen`), which drops its own;
* SQLite is one process, so dropping locally is enough there; on MariaDB other nodes, and on
  both a CLI process writing beside the server, rely on the TTL.

The TTL is the safety net in every case (a listener reconnecting, a row written by hand), so it
is short: a minute for data, a few seconds for token checks. Cached values are frozen plain
values, shared by every thread.

Under :func:`cached_only` a cache that would have to load raises :class:`NotCached` instead:
the phone flow runs a read on its event loop that way, and sends it to a worker thread only
when it needs the database (a hop to a thread and back cost more than most cached reads).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

CHANNEL = "atende_changes"
LISTENER_NAME = "atende-changes"  # its connection's application_name in pg_stat_activity
DATA_TTL_S = 60.0
TOKEN_TTL_S = 3.0
MAX_ENTRIES = 1024  # past this many keys the oldest go (a flood of unknown tokens)
LISTEN_WAIT_S = 5.0  # how long start-up waits for the first LISTEN
POLL_S = 1.0  # how often the listener looks whether it should stop
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 30.0
_TOPICS = "atende_changed_topics"  # Session.info: the topics its transaction changed


_CACHED_ONLY: ContextVar[bool] = ContextVar("atende_cached_only", default=False)


class NotCached(Exception):
    """Under :func:`cached_only`, a value that is not cached (reading it needs the database)."""


@contextmanager
def cached_only() -> Iterator[None]:
    """Inside: every cache answers from memory or raises NotCached (for reads only)."""
    token = _CACHED_ONLY.set(True)
    try:
        yield
    finally:
        _CACHED_ONLY.reset(token)


@dataclass(frozen=True)
class _Entry(Generic[V]):
    value: V
    expires: float


class TopicCache(Generic[K, V]):
    """Values of ``load(key)`` kept up to ``ttl`` seconds, dropped by :meth:`clear`.

    Concurrent misses of one key load it once (the others wait for that load). A load that
    overlaps a :meth:`clear` is handed to its callers but not kept: it may have read the data
    as it was before the change.
    """

    def __init__(
        self,
        load: Callable[[K], V],
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self._load = load
        self._ttl = ttl
        self._clock = clock
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict[K, _Entry[V]] = {}
        self._loading: dict[K, Future[V]] = {}  # a clear forgets them: their value is not kept

    def get(self, key: K) -> V:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.expires > self._clock():
                return entry.value
            if _CACHED_ONLY.get():
                raise NotCached
            pending = self._loading.get(key)
            leader = pending is None
            if pending is None:
                pending = self._loading[key] = Future()
        if not leader:
            return pending.result()
        try:
            value = self._load(key)
        except BaseException as exc:
            self._settle(key, pending)
            pending.set_exception(exc)
            raise
        with self._lock:
            if self._settle_locked(key, pending):
                self._keep(key, value)
        pending.set_result(value)
        return value

    def clear(self) -> None:
        """Forget every value, and the loads in progress (they may read the old data)."""
        with self._lock:
            self._entries.clear()
            self._loading.clear()

    def discard(self, key: K) -> None:
        """Forget the value of ``key`` (and let no load of it in progress keep its value)."""
        with self._lock:
            self._entries.pop(key, None)
            self._loading.pop(key, None)

    def _keep(self, key: K, value: V) -> None:
        self._entries.pop(key, None)
        while len(self._entries) >= self._max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = _Entry(value, self._clock() + self._ttl)

    def _settle(self, key: K, pending: Future[V]) -> None:
        with self._lock:
            self._settle_locked(key, pending)

    def _settle_locked(self, key: K, pending: Future[V]) -> bool:
        """End the load ``pending`` of ``key``; False if a clear forgot it meanwhile."""
        if self._loading.get(key) is not pending:
            return False
        del self._loading[key]
        return True


class Changes:
    """Which data changed: topics published by writers, dropped from the caches that read it.

    One per runtime (a process's view of one database). Writers call :meth:`publish` inside
    their transaction; ``atende serve`` calls :meth:`listen` to hear the other processes on
    PostgreSQL, and :meth:`close` at the end.
    """

    def __init__(self, engine: Engine, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._notifies = engine.dialect.name == "postgresql"
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self._caches: dict[str, weakref.WeakSet[TopicCache[Any, Any]]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None
        event.listen(sessions, "after_commit", self._committed)
        event.listen(sessions, "after_rollback", self._rolled_back)

    def cache(
        self, topic: str, load: Callable[[K], V], ttl: float = DATA_TTL_S
    ) -> TopicCache[K, V]:
        """A cache of ``load`` dropped whenever ``topic`` changes."""
        cache: TopicCache[K, V] = TopicCache(load, ttl)
        with self._lock:
            self._caches.setdefault(topic, weakref.WeakSet()).add(cache)
        return cache

    @contextmanager
    def transaction(self, topic: str) -> Iterator[Session]:
        """A transaction (as ``sessions.begin()``) that changes ``topic``'s data."""
        with self._sessions.begin() as session:
            self.publish(session, topic)
            yield session

    def publish(self, session: Session, topic: str) -> None:
        """Say, inside the transaction of ``session``, that it changes ``topic``'s data: the
        caches drop it when (and only if) the transaction commits."""
        if self._notifies:
            session.execute(select(func.pg_notify(CHANNEL, topic)))
        session.info.setdefault(_TOPICS, set()).add(topic)

    def drop(self, topic: str) -> None:
        """Drop the values of every cache of ``topic`` in this process."""
        with self._lock:
            caches = list(self._caches.get(topic, ()))
        for cache in caches:
            cache.clear()

    def drop_all(self) -> None:
        with self._lock:
            topics = list(self._caches)
        for topic in topics:
            self.drop(topic)

    def _committed(self, session: Session) -> None:
        for topic in session.info.pop(_TOPICS, ()):
            self.drop(topic)

    def _rolled_back(self, session: Session) -> None:
        session.info.pop(_TOPICS, None)

    # -- hearing the other processes (PostgreSQL) -------------------------------------------

    def listen(self) -> None:
        """Start hearing the changes other processes and nodes publish (PostgreSQL only), and
        wait up to ``LISTEN_WAIT_S`` for the listener to be in place."""
        if not self._notifies or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._listen, name="atende-changes", daemon=True)
        self._thread.start()
        if not self._listening.wait(LISTEN_WAIT_S):
            log.warning("not yet listening for changes; caches expire after %.0f s", DATA_TTL_S)

    def close(self) -> None:
        """Stop the listener (within ``POLL_S``)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()
            self._listening.clear()

    def _listen(self) -> None:
        import psycopg  # only PostgreSQL installations load libpq

        delay = RECONNECT_MIN_S
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    self._conninfo,
                    autocommit=True,
                    application_name=LISTENER_NAME,
                    # A connection dead without a word (a node's network) is noticed in ~30 s.
                    keepalives=1,
                    keepalives_idle=10,
                    keepalives_interval=5,
                    keepalives_count=4,
                ) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    # Whatever changed while nobody listened (start-up, a lost connection).
                    self.drop_all()
                    self._listening.set()
                    delay = RECONNECT_MIN_S
                    while not self._stop.is_set():
                        for notice in connection.notifies(timeout=POLL_S):
                            self.drop(notice.payload)
            except Exception as exc:  # the thread must live on: caches would only expire
                self._listening.clear()
                log.warning(
                    "change listener: %s; reconnecting in %.1f s",
                    type(exc).__name__,  # not the message: it may hold the connection string
                    delay,
                    exc_info=not isinstance(exc, psycopg.Error),
                )
                self._stop.wait(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)
