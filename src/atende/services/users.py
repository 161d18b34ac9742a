"""Support-team members who sign in to the dashboard, and their browser sessions.

Passwords are hashed with Argon2id (argon2-cffi, OWASP's first choice); a hash made with older
parameters is upgraded at the next sign-in. A session is 256 random bits in an HttpOnly cookie;
the database keeps only its SHA-256 (like API tokens: a leaked table gives no usable cookie),
its CSRF token and when it expires. A session not used for ``ATENDE_WEB_SESSION_HOURS`` ends;
deactivating a member or changing their password ends all their sessions; expired sessions
are removed at each sign-in. Members are handed out as :class:`UserView` values: no ORM row,
and never the password hash, leaves this module.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from atende.db.models import User, UserSession
from atende.runtime import Runtime
from atende.services.errors import Conflict, Invalid, NotFound
from atende.services.tokens import hash_token

MIN_PASSWORD = 10
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
SESSION_REFRESH = timedelta(minutes=1)


class Role(StrEnum):
    TECHNICIAN = "technician"
    ADMIN = "admin"


@dataclass(frozen=True)
class UserView:
    """A member of the support team as the dashboard and the CLI show them."""

    id: int
    username: str
    name: str
    role: str
    active: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(
            id=user.id,
            username=user.username,
            name=user.name,
            role=user.role,
            active=user.active,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )


@dataclass(frozen=True)
class SignedIn:
    """A live session: who, and the CSRF token its forms must carry."""

    user: UserView
    csrf_token: str
    session_id: int

    @property
    def is_admin(self) -> bool:
        return self.user.role == Role.ADMIN


class UserService:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.sessions = runtime.sessions
        self.hasher = PasswordHasher()

    @cached_property
    def _dummy_hash(self) -> str:
        # Verifying against this when the name is unknown costs what a real check costs, so the
        # time of an answer does not tell which names exist.
        return self.hasher.hash(secrets.token_hex(16))

    # -- members ---------------------------------------------------------------------------

    def create(self, username: str, name: str, password: str, role: str) -> UserView:
        username = username.strip().lower()
        if not USERNAME.fullmatch(username):
            raise Invalid(
                "username: 2-64 lowercase letters, digits, '.', '_' or '-'", field="username"
            )
        if not name.strip():
            raise Invalid("name is required", field="name")
        _check_role(role)
        _check_password(password)
        try:
            with self.sessions.begin() as session:
                user = User(
                    username=username,
                    name=name.strip(),
                    password_hash=self.hasher.hash(password),
                    role=role,
                    active=True,
                    created_at=self.runtime.clock(),
                )
                session.add(user)
                session.flush()
                view = UserView.of(user)
            return view
        except IntegrityError:
            raise Conflict("another member has this username", field="username") from None

    def list(self) -> list[UserView]:
        with self.sessions() as session:
            return [UserView.of(user) for user in session.scalars(select(User).order_by(User.name))]

    def get(self, user_id: int) -> UserView:
        with self.sessions() as session:
            user = session.get(User, user_id)
            if user is None:
                raise NotFound(f"no member {user_id}", field="user_id")
            return UserView.of(user)

    def by_username(self, username: str) -> UserView:
        named = self._named(username)
        if named is None:
            raise NotFound(f"no member {username!r}", field="username")
        return named[0]

    def _named(self, username: str) -> tuple[UserView, str] | None:
        """The member with this name and their password hash, or None."""
        with self.sessions() as session:
            user = session.scalar(select(User).where(User.username == username.strip().lower()))
            return (UserView.of(user), user.password_hash) if user is not None else None

    def update(
        self,
        user_id: int,
        *,
        role: str | None = None,
        active: bool | None = None,
        password: str | None = None,
    ) -> UserView:
        if role is not None:
            _check_role(role)
        if password is not None:
            _check_password(password)
        with self.sessions.begin() as session:
            user = session.get(User, user_id)
            if user is None:
                raise NotFound(f"no member {user_id}", field="user_id")
            if role is not None:
                user.role = role
            if active is not None:
                user.active = active
            if password is not None:
                user.password_hash = self.hasher.hash(password)
            if active is False or password is not None:
                session.execute(delete(UserSession).where(UserSession.user_id == user_id))
            return UserView.of(user)

    def count_admins(self) -> int:
        with self.sessions() as session:
            query = select(func.count()).where(User.role == Role.ADMIN, User.active.is_(True))
            return int(session.scalar(query) or 0)

    # -- signing in ------------------------------------------------------------------------

    def authenticate(self, username: str, password: str) -> UserView | None:
        """The active member with this name and password, or None (same cost either way)."""
        named = self._named(username)
        if named is None or not named[0].active:
            self._verify(self._dummy_hash, password)
            return None
        user, password_hash = named
        if not self._verify(password_hash, password):
            return None
        with self.sessions.begin() as session:
            row = session.get(User, user.id)
            if row is not None:
                row.last_login_at = self.runtime.clock()
                if self.hasher.check_needs_rehash(row.password_hash):
                    row.password_hash = self.hasher.hash(password)
        return user

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def start_session(self, user: UserView) -> tuple[str, SignedIn]:
        """A new session for ``user``: (the cookie value, shown only now; the session)."""
        clear = secrets.token_urlsafe(32)
        now = self.runtime.clock()
        with self.sessions.begin() as session:
            session.execute(delete(UserSession).where(UserSession.expires_at <= now))
            row = UserSession(
                user_id=user.id,
                token_hash=hash_token(clear),
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                last_seen_at=now,
                expires_at=now + self._lifetime,
            )
            session.add(row)
            session.flush()
            return clear, SignedIn(user, row.csrf_token, row.id)

    def resume(self, clear: str) -> SignedIn | None:
        """The live session of a cookie, extended on use; None when unknown or expired."""
        now = self.runtime.clock()
        with self.sessions() as session:
            row = session.scalar(
                select(UserSession).where(UserSession.token_hash == hash_token(clear))
            )
            if row is None or row.expires_at <= now or not row.user.active:
                return None
            signed_in = SignedIn(UserView.of(row.user), row.csrf_token, row.id)
            stale = now - row.last_seen_at > SESSION_REFRESH
        if stale:
            with self.sessions.begin() as session:
                live = session.get(UserSession, signed_in.session_id)
                if live is not None:
                    live.last_seen_at = now
                    live.expires_at = now + self._lifetime
        return signed_in

    def end_session(self, clear: str) -> None:
        with self.sessions.begin() as session:
            session.execute(delete(UserSession).where(UserSession.token_hash == hash_token(clear)))

    @property
    def _lifetime(self) -> timedelta:
        return timedelta(hours=self.runtime.settings.web_session_hours)


def _check_role(role: str) -> None:
    if role not in {r.value for r in Role}:
        raise Invalid(f"role must be one of {', '.join(r.value for r in Role)}", field="role")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"password: at least {MIN_PASSWORD} characters", field="password")
