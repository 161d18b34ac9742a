"""Shared FastAPI dependencies: the services bundle and the token of the request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from atende.api.auth import require
from atende.db.models import ApiToken
from atende.services.bundle import Services


def services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(services)]
Reader = Annotated[ApiToken, Depends(require("read"))]
Writer = Annotated[ApiToken, Depends(require("write"))]
Admin = Annotated[ApiToken, Depends(require("admin"))]


def actor(token: ApiToken) -> str:
    """How a token appears in ticket history."""
    return f"api:{token.name}"
