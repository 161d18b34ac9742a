"""Signing in and out of the dashboard."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from atende.services.login_throttle import LoginThrottle
from atende.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CsrfRejected,
    FormMember,
    services_of,
    set_cookie,
    tokens_match,
)
from atende.web.templating import render
from atende.web.texts import web_text

router = APIRouter(include_in_schema=False)

LOGIN_FORM_MAX_AGE = 3600


def _safe_next(target: str) -> str:
    """Only a path of this site (no scheme, no host): never an open redirect."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _login_page(request: Request, next_url: str, error: str = "", status: int = 200) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {"login_csrf": token, "next_url": next_url, "error": error},
        status,
    )
    set_cookie(response, request, LOGIN_CSRF_COOKIE, token, LOGIN_FORM_MAX_AGE)
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return _login_page(request, _safe_next(next))


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token):
        raise CsrfRejected
    services = services_of(request)
    language = services.runtime.settings.language
    throttle = LoginThrottle(services.runtime, services.runtime.settings.web_login_attempts)
    client = request.client.host if request.client else "?"
    name = username.strip().lower()
    if not throttle.admit(name, client):
        return _login_page(request, next, web_text("login_throttled", language), 429)
    user = services.users.authenticate(username, password)
    if user is None:
        return _login_page(request, next, web_text("login_failed", language), 401)
    throttle.succeeded(name, client)
    clear, _ = services.users.start_session(user)
    response = RedirectResponse(_safe_next(next), status_code=303)
    max_age = int(services.runtime.settings.web_session_hours * 3600)
    set_cookie(response, request, SESSION_COOKIE, clear, max_age)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, member: FormMember) -> Response:
    services_of(request).users.end_session(request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
