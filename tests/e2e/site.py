"""A dashboard served on loopback with a support team signed up, for HTTP and browser tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from atende.api.app import create_app
from atende.services.bundle import Services
from live_server import serve


@dataclass(frozen=True)
class Member:
    username: str
    name: str
    password: str
    role: str


ADMIN = Member("ana", "Ana Administradora", "senha-da-ana-123", "admin")
TECHNICIAN = Member("tiago", "Tiago Técnico", "senha-do-tiago-1", "technician")

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_team(services: Services) -> None:
    for member in (ADMIN, TECHNICIAN):
        services.users.create(member.username, member.name, member.password, member.role)


@contextmanager
def dashboard(services: Services) -> Iterator[str]:
    """The whole HTTP app (API and dashboard) served on loopback, with the team signed up."""
    add_team(services)
    with serve(create_app(services)) as base_url:
        yield base_url


def csrf_in(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def sign_in(client: httpx.Client, member: Member) -> httpx.Response:
    """Sign in through the login form, as a browser does; returns the answer to the POST."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "username": member.username,
            "password": member.password,
            "csrf_token": csrf_in(page.text),
            "next": "/",
        },
    )


@contextmanager
def browser_like(base_url: str, member: Member | None = None) -> Iterator[httpx.Client]:
    """A cookie-keeping client that does not follow redirects (tests look at them)."""
    with httpx.Client(base_url=base_url, timeout=15) as client:
        if member is not None:
            answer = sign_in(client, member)
            assert answer.status_code == 303, answer.text
        yield client
