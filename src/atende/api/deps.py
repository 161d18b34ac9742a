"""Shared FastAPI dependencies: the services bundle and the token of the request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from atende.api.auth import require
from atende.services.bundle import Services
from atende.services.tokens import TokenView


def services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(services)]
Reader = Annotated[TokenView, Depends(require("read"))]
Writer = Annotated[TokenView, Depends(require("write"))]
Admin = Annotated[TokenView, Depends(require("admin"))]


def actor(token: TokenView) -> str:
    """How a token appears in ticket history."""
    return f"api:{token.name}"
