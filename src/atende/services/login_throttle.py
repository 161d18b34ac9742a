"""How many times a user name, and a client address, may try to sign in: counted in the database.

A count kept in one process's memory is beaten by sending the guesses in parallel (all of them
pass the check before the first failure is recorded) and is not seen by the other processes
and nodes behind the same database. Here each attempt first takes its place in the count, with
one atomic ``UPDATE ... SET attempts = attempts + 1`` (the row stays locked until the commit,
and on SQLite every write transaction is exclusive), and only the attempts that are still
within the limit get their password checked: of 30 simultaneous guesses for one name, the
first ``limit`` are checked and the rest refused.

A name may try ``limit`` times in ``WINDOW``, an address (an office behind one NAT)
``ADDRESS_FACTOR`` times more. A successful sign-in clears its name's count and gives its
address the attempt back, and removes the rows whose window has passed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from atende.db.models import LoginAttempts as Counter
from atende.runtime import Runtime

WINDOW = timedelta(minutes=15)
ADDRESS_FACTOR = 4
INSERT_RACES = 3  # another process may create the same counter at the same moment


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


class LoginThrottle:
    def __init__(self, runtime: Runtime, limit: int, window: timedelta = WINDOW) -> None:
        self.runtime = runtime
        self.limit = limit
        self.window = window

    def admit(self, name: str, address: str) -> bool:
        """Count an attempt of ``name`` from ``address``; False when it is over a limit, and
        then the password must not be checked."""
        name_key = _key("name", name)
        if self._count(name_key) > self.limit:
            return False
        if self._count(_key("address", address)) > self.limit * ADDRESS_FACTOR:
            self._give_back(name_key)  # not tried: the name keeps this attempt
            return False
        return True

    def succeeded(self, name: str, address: str) -> None:
        """The password was right: the name starts afresh, the address gets its attempt back."""
        now = self.runtime.clock()
        with self.runtime.sessions.begin() as session:
            session.execute(delete(Counter).where(Counter.key == _key("name", name)))
            session.execute(delete(Counter).where(Counter.expires_at <= now))
        self._give_back(_key("address", address))

    def _count(self, key: str) -> int:
        """This attempt added to ``key``'s count; the count including it."""
        for _ in range(INSERT_RACES):
            counted = self._add_one(key, self.runtime.clock())
            if counted:
                return counted
            # No counter yet. It is created in a transaction of its own: on MariaDB the update
            # above took a gap lock that two inserting transactions would deadlock on.
            try:
                with self.runtime.sessions.begin() as session:
                    expires_at = self.runtime.clock() + self.window
                    session.add(Counter(key=key, attempts=1, expires_at=expires_at))
                return 1
            except IntegrityError:
                continue  # created meanwhile by another attempt: count on it
        raise RuntimeError("login throttle: could not count the attempt")

    def _add_one(self, key: str, now: datetime) -> int:
        """Add one to a live counter (or start an expired one again); 0 when there is none."""
        with self.runtime.sessions.begin() as session:
            counted = session.execute(
                update(Counter)
                .where(Counter.key == key, Counter.expires_at > now)
                .values(attempts=Counter.attempts + 1)
            )
            if counted.rowcount:  # type: ignore[attr-defined]
                # The row is locked by this transaction: this is the count our attempt made.
                return session.scalars(select(Counter.attempts).where(Counter.key == key)).one()
            restarted = session.execute(
                update(Counter)
                .where(Counter.key == key, Counter.expires_at <= now)
                .values(attempts=1, expires_at=now + self.window)
            )
            return 1 if restarted.rowcount else 0  # type: ignore[attr-defined]

    def _give_back(self, key: str) -> None:
        with self.runtime.sessions.begin() as session:
            session.execute(
                update(Counter)
                .where(Counter.key == key, Counter.attempts > 0)
                .values(attempts=Counter.attempts - 1)
            )
