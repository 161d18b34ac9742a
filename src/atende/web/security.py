"""Who is signed in, what they may reach, and the checks every dashboard form goes through.

* The session cookie is HttpOnly and SameSite=Lax, and Secure when ``ATENDE_WEB_COOKIE_SECURE``
  says so (``auto``: when the request came over https, also behind a proxy that sends
  X-Forwarded-Proto). Its value means nothing without the session row (see services.users).
* Every POST carries the session's CSRF token, as the form field ``csrf_token`` or, for htmx
  requests, the ``X-CSRF-Token`` header; the sign-in form, which has no session yet, uses a
  double-submit cookie. A POST without a matching token is refused before it does anything.
* Sign-in attempts are counted per user name and per client address in the database (see
  services.login_throttle); past ``ATENDE_WEB_LOGIN_ATTEMPTS`` for a name (four times that for
  an address) in 15 minutes the form answers "try later" without checking the password.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response

from atende.services.bundle import Services
from atende.services.users import SignedIn

SESSION_COOKIE = "atende_session"
LOGIN_CSRF_COOKIE = "atende_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """No live session: the browser goes to the sign-in page."""


class AdminOnly(Exception):
    """A technician asked for an administrator's page."""


class CsrfRejected(Exception):
    """A form came without this session's CSRF token."""


def services_of(request: Request) -> Services:
    return request.app.state.services


def secure_cookies(request: Request) -> bool:
    mode = services_of(request).runtime.settings.web_cookie_secure
    return mode == "always" or (mode == "auto" and request.url.scheme == "https")


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/",
    )


def signed_in(request: Request) -> SignedIn:
    """The signed-in member (a FastAPI dependency); LoginRequired when there is none."""
    clear = request.cookies.get(SESSION_COOKIE)
    current = services_of(request).users.resume(clear) if clear else None
    if current is None:
        raise LoginRequired
    request.state.signed_in = current
    return current


def admin(member: Annotated[SignedIn, Depends(signed_in)]) -> SignedIn:
    if not member.is_admin:
        raise AdminOnly
    return member


async def submitted_token(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    form = await request.form()  # parsed once: the route reads the same form afterwards
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else ""


def tokens_match(expected: str, given: str) -> bool:
    return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())


async def _csrf_checked(member: SignedIn, request: Request) -> SignedIn:
    if not tokens_match(member.csrf_token, await submitted_token(request)):
        raise CsrfRejected
    return member


async def form_member(
    member: Annotated[SignedIn, Depends(signed_in)], request: Request
) -> SignedIn:
    """For POST routes: the member, once the form's CSRF token matched their session's."""
    return await _csrf_checked(member, request)


async def form_admin(member: Annotated[SignedIn, Depends(admin)], request: Request) -> SignedIn:
    return await _csrf_checked(member, request)


Member = Annotated[SignedIn, Depends(signed_in)]
Admin = Annotated[SignedIn, Depends(admin)]
FormMember = Annotated[SignedIn, Depends(form_member)]
FormAdmin = Annotated[SignedIn, Depends(form_admin)]


def actor(member: SignedIn) -> str:
    """How a dashboard member appears in ticket history and settings."""
    return f"web:{member.user.username}"
