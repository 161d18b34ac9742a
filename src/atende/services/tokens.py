"""API tokens: issued once in clear, kept as a SHA-256 hash, with scopes and an IP allow-list.

Tokens are 256 random bits, so a fast hash is enough (no password stretching needed): a leaked
database does not give usable tokens. ``admin`` includes ``write``, which includes ``read``.
Tokens are handed out as :class:`TokenView` values, never as rows (nor with their hash).
A check, on every API request, reads a cached view for up to ``TOKEN_TTL_S``; creating or
revoking a token publishes the ``tokens`` topic (see :mod:`atende.services.cache`), so a
revoked token is refused by the next request in this process, and within the notification's
latency in the others on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from atende.db.models import ApiToken
from atende.runtime import Runtime
from atende.services.cache import TOKEN_TTL_S
from atende.services.errors import Conflict, Invalid, NotFound

SCOPES = ("read", "write", "admin")
TOKEN_PREFIX = "atd_"
LAST_USED_RESOLUTION = timedelta(minutes=1)
TOPIC = "tokens"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def grants(scopes: Iterable[str], needed: str) -> bool:
    return any(SCOPES.index(s) >= SCOPES.index(needed) for s in scopes if s in SCOPES)


@dataclass(frozen=True)
class TokenView:
    """An API token as the CLI, the dashboard and the API's authentication see it."""

    id: int
    name: str
    scopes: tuple[str, ...]
    allow: tuple[str, ...]  # client networks; empty: any
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenView:
        return cls(
            id=token.id,
            name=token.name,
            scopes=tuple(token.scopes),
            allow=tuple(token.allow),
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


@dataclass(frozen=True)
class TokenCheck:
    token: TokenView | None
    reason: str = ""
    forbidden: bool = False  # a known token used from outside its allow-list


class TokenService:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.sessions = runtime.sessions
        self.reads = runtime.reads  # the cached lookups: no write gate on SQLite
        self.changes = runtime.changes
        self._by_hash = runtime.changes.cache(TOPIC, self._load, TOKEN_TTL_S)

    def create(
        self, name: str, scopes: list[str], allow: list[str] | None = None
    ) -> tuple[TokenView, str]:
        if not scopes or any(s not in SCOPES for s in scopes):
            raise Invalid(f"scopes must be among {', '.join(SCOPES)}", field="scope")
        networks = []
        for cidr in allow or []:
            try:
                networks.append(str(ipaddress.ip_network(cidr, strict=False)))
            except ValueError:
                raise Invalid(f"not an IP network: {cidr}", field="allow") from None
        clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.changes.transaction(TOPIC) as session:
            token = ApiToken(
                name=name,
                token_hash=hash_token(clear),
                scopes=scopes,
                allow=networks,
                created_at=self.runtime.clock(),
            )
            session.add(token)
            session.flush()
            view = TokenView.of(token)
        return view, clear

    def list(self) -> list[TokenView]:
        with self.sessions() as session:
            query = select(ApiToken).order_by(ApiToken.id)
            return [TokenView.of(token) for token in session.scalars(query)]

    def revoke(self, token_id: int) -> None:
        with self.changes.transaction(TOPIC) as session:
            token = session.get(ApiToken, token_id)
            if token is None:
                raise NotFound(f"no token {token_id}", field="token_id")
            token.revoked_at = token.revoked_at or self.runtime.clock()

    def find(self, reference: str) -> TokenView:
        """The token with this id, or else the one live token with this name."""
        with self.sessions() as session:
            if reference.isdigit() and (token := session.get(ApiToken, int(reference))):
                return TokenView.of(token)
            query = select(ApiToken).where(
                ApiToken.name == reference, ApiToken.revoked_at.is_(None)
            )
            named = [TokenView.of(token) for token in session.scalars(query)]
        if not named:
            raise NotFound(f"no live token named or numbered {reference!r}", field="token")
        if len(named) > 1:
            ids = ", ".join(str(token.id) for token in named)
            raise Conflict(f"tokens {ids} are named {reference!r}: give the id", field="token")
        return named[0]

    def check(self, clear: str, client_ip: str | None) -> TokenCheck:
        """Who ``clear`` is, or why not; refreshes last-used at most once a minute."""
        token_hash = hash_token(clear)
        token = self._by_hash.get(token_hash)
        if token is None or token.revoked_at is not None:
            return TokenCheck(None, "unknown or revoked token")
        if token.allow:
            try:
                address = ipaddress.ip_address(client_ip or "")
            except ValueError:
                return TokenCheck(None, "client address unknown", True)
            if not any(address in ipaddress.ip_network(n) for n in token.allow):
                return TokenCheck(None, f"this token is not allowed from {address}", True)
        now = self.runtime.clock()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            with self.sessions.begin() as session:
                live = session.get(ApiToken, token.id)
                if live is not None:
                    live.last_used_at = now
            self._by_hash.discard(token_hash)  # else each check until it expires writes again
        return TokenCheck(token)

    def _load(self, token_hash: str) -> TokenView | None:
        with self.reads() as session:
            row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))
            return TokenView.of(row) if row is not None else None
