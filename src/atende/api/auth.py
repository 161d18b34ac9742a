"""Bearer-token authentication with scopes and the token's IP allow-list (seed 000's rule)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from atende.api.errors import ApiError
from atende.services.tokens import TokenService, TokenView, grants


def require(scope: str) -> Callable[[Request], TokenView]:
    """A FastAPI dependency: the request's token, which must grant ``scope``."""

    def dependency(request: Request) -> TokenView:
        header = request.headers.get("authorization", "")
        kind, _, clear = header.partition(" ")
        if kind.lower() != "bearer" or not clear.strip():
            raise ApiError(401, "send Authorization: Bearer <token>", "Authorization")
        tokens: TokenService = request.app.state.services.tokens
        client = request.client.host if request.client else None
        check = tokens.check(clear.strip(), client)
        if check.token is None:
            raise ApiError(403 if check.forbidden else 401, check.reason, "Authorization")
        if not grants(check.token.scopes, scope):
            raise ApiError(403, f"this token lacks the {scope} scope", "Authorization")
        return check.token

    return dependency
