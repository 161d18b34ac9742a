"""Who may reach the dashboard, over real HTTP: nothing without signing in, no administration
for technicians, no form without its CSRF token, sign-in throttled and its cookie locked down."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from atende.api.app import create_app
from atende.db.models import LoginAttempts
from atende.demo import load_demo_people
from atende.services.bundle import Services
from atende.services.tickets import NewTicket
from e2e.site import ADMIN, TECHNICIAN, browser_like, csrf_in, dashboard, sign_in
from live_server import serve

MakeServices = Callable[..., Services]

MEMBER_PAGES = ["/", "/tickets/rows", "/calls", "/reports", "/reports/per_day.csv"]
ADMIN_PAGES = [
    "/admin/people",
    "/admin/catalog",
    "/admin/hours",
    "/admin/users",
    "/admin/tokens",
    "/admin/checks",
]
ADMIN_FORMS = {
    "/admin/catalog/categories": {"key": "8", "name": "Telefonia"},
    "/admin/people": {"code": "2001", "name": "Pessoa Nova"},
    "/admin/hours": {"day0": "08:00-09:00"},
    "/admin/users": {"username": "zeca", "name": "Zeca", "password": "uma-senha-longa"},
    "/admin/tokens": {"name": "erp", "scope": "admin"},
    "/admin/checks/message": {"to": "+5545999990001"},
}


@pytest.fixture
def site(make_services: MakeServices) -> Iterator[tuple[Services, str, str]]:
    services = make_services(web_login_attempts=3)
    load_demo_people(services.people)
    ticket, _ = services.tickets.open(NewTicket(person_code="1001", item_id=1), "api:test")
    with dashboard(services) as base_url:
        yield services, base_url, ticket.protocol


def test_no_page_works_without_signing_in(site: tuple[Services, str, str]) -> None:
    services, base_url, protocol = site
    with browser_like(base_url) as anonymous:
        for path in [*MEMBER_PAGES, *ADMIN_PAGES, f"/tickets/{protocol}"]:
            answer = anonymous.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login?next=%2F"), path
        answer = anonymous.post(f"/tickets/{protocol}", data={"status": "cancelled"})
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
        polled = anonymous.get("/tickets/rows", headers={"HX-Request": "true"})
        assert polled.status_code == 401 and polled.headers["HX-Redirect"] == "/login"
        assert "Maria" not in polled.text
    assert services.tickets.get(protocol).status == "open"


def test_a_technician_cannot_reach_administration(site: tuple[Services, str, str]) -> None:
    services, base_url, _ = site
    with browser_like(base_url, TECHNICIAN) as technician:
        for path in MEMBER_PAGES:
            assert technician.get(path).status_code == 200, path
        csrf = csrf_in(technician.get("/").text)
        for path in ADMIN_PAGES:
            answer = technician.get(path)
            assert answer.status_code == 403, path
            assert "Acesso negado" in answer.text
        for path, form in ADMIN_FORMS.items():
            answer = technician.post(path, data={**form, "csrf_token": csrf})
            assert answer.status_code == 403, path
        assert "administração" not in technician.get("/").text.lower()
    assert "Telefonia" not in [c.name for c in services.catalog.tree()]
    assert [u.username for u in services.users.list() if u.username == "zeca"] == []
    assert services.tokens.list() == []


def test_forms_without_the_csrf_token_are_refused(site: tuple[Services, str, str]) -> None:
    services, base_url, protocol = site
    with browser_like(base_url, ADMIN) as admin:
        csrf = csrf_in(admin.get("/").text)
        for path, form in {
            f"/tickets/{protocol}": {"status": "cancelled"},
            **ADMIN_FORMS,
        }.items():
            missing = admin.post(path, data=form)
            assert missing.status_code == 403, path
            assert "Formulário expirado" in missing.text
            wrong = admin.post(path, data={**form, "csrf_token": csrf[:-2] + "xx"})
            assert wrong.status_code == 403, path
        # The same change with the session's token, as a form field or as htmx's header.
        assert services.tickets.get(protocol).status == "open"
        answer = admin.post(f"/tickets/{protocol}", data={"status": "waiting", "csrf_token": csrf})
        assert answer.status_code == 303
        answer = admin.post(
            f"/tickets/{protocol}", data={"status": "in_progress"}, headers={"X-CSRF-Token": csrf}
        )
        assert answer.status_code == 303
    assert services.tickets.get(protocol).status == "in_progress"
    assert "Telefonia" not in [c.name for c in services.catalog.tree()]


def test_sign_in_form_needs_its_own_token(site: tuple[Services, str, str]) -> None:
    _, base_url, _ = site
    with browser_like(base_url) as client:
        client.get("/login")
        answer = client.post(
            "/login", data={"username": ADMIN.username, "password": ADMIN.password}
        )
        assert answer.status_code == 403
        assert "atende_session" not in client.cookies


def test_session_cookie_and_sign_out(site: tuple[Services, str, str]) -> None:
    _, base_url, _ = site
    with browser_like(base_url) as client:
        answer = sign_in(client, TECHNICIAN)
        assert answer.status_code == 303 and answer.headers["location"] == "/"
        cookie = next(
            h for h in answer.headers.get_list("set-cookie") if h.startswith("atende_session=")
        )
        attributes = cookie.lower()
        assert "httponly" in attributes and "samesite=lax" in attributes
        assert "secure" not in attributes  # plain http on loopback (ATENDE_WEB_COOKIE_SECURE=auto)
        csrf = csrf_in(client.get("/").text)
        stolen = client.cookies["atende_session"]
        assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    with httpx.Client(base_url=base_url, cookies={"atende_session": stolen}) as replay:
        assert replay.get("/").status_code == 303  # the old cookie no longer works


def test_secure_cookie_setting(make_services: MakeServices) -> None:
    services = make_services(web_cookie_secure="always")
    with dashboard(services) as base_url, httpx.Client(base_url=base_url) as client:
        page = client.get("/login")
        assert "secure" in page.headers["set-cookie"].lower()
        token = csrf_in(page.text)
        # Over plain http a client keeps Secure cookies to itself: hand it back explicitly.
        answer = client.post(
            "/login",
            data={"username": ADMIN.username, "password": ADMIN.password, "csrf_token": token},
            headers={"Cookie": f"atende_login_csrf={token}"},
        )
        assert answer.status_code == 303
        cookie = next(
            h for h in answer.headers.get_list("set-cookie") if h.startswith("atende_session=")
        )
        assert "secure" in cookie.lower() and "httponly" in cookie.lower()


def test_wrong_passwords_are_throttled(site: tuple[Services, str, str]) -> None:
    _, base_url, _ = site
    with browser_like(base_url) as client:
        wrong = replace(TECHNICIAN, password="errada-errada")
        for _ in range(3):
            answer = sign_in(client, wrong)
            assert answer.status_code == 401 and "incorretos" in answer.text
        answer = sign_in(client, TECHNICIAN)  # the right password, too late
        assert answer.status_code == 429 and "Muitas tentativas" in answer.text
        assert "atende_session" not in client.cookies
    with browser_like(base_url) as other:
        # Someone else at the same address still signs in (the address allows four times more).
        assert sign_in(other, ADMIN).status_code == 303


def test_parallel_guesses_get_only_the_allowed_password_checks(
    make_services: MakeServices,
) -> None:
    services = make_services()  # ATENDE_WEB_LOGIN_ATTEMPTS: 5
    guesses = 30
    wrong = replace(TECHNICIAN, password="errada-errada")
    start = threading.Barrier(guesses)

    def guess(base_url: str) -> int:
        with browser_like(base_url) as client:
            page = client.get("/login")  # each guess with its own sign-in form cookie
            start.wait()
            form = {"username": wrong.username, "password": wrong.password, "next": "/"}
            return client.post(
                "/login", data={**form, "csrf_token": csrf_in(page.text)}
            ).status_code

    with dashboard(services) as base_url, ThreadPoolExecutor(guesses) as pool:
        answers = Counter(pool.map(guess, [base_url] * guesses))
    # 401: the password was checked and wrong; 429: refused before any check.
    assert answers == {401: 5, 429: guesses - 5}


def test_the_count_is_shared_by_every_node_and_expires(make_services: MakeServices) -> None:
    services = make_services(web_login_attempts=2)
    wrong = replace(TECHNICIAN, password="errada-errada")
    with dashboard(services) as first, serve(create_app(services)) as second:
        with browser_like(first) as client:
            assert [sign_in(client, wrong).status_code for _ in range(2)] == [401, 401]
            assert sign_in(client, replace(wrong, username="ghost")).status_code == 401
        with browser_like(second) as client:  # another process on the same database
            assert sign_in(client, TECHNICIAN).status_code == 429
            real_clock = services.runtime.clock
            services.runtime.clock = lambda: real_clock() + timedelta(minutes=16)
            assert sign_in(client, TECHNICIAN).status_code == 303  # a new window
    with services.runtime.sessions() as session:
        # The successful sign-in removed the name's count and the windows that had passed.
        assert session.scalar(select(func.count()).select_from(LoginAttempts)) == 1
        assert session.scalar(select(LoginAttempts.attempts)) == 0  # the address's, given back


def test_deactivated_member_is_signed_out(site: tuple[Services, str, str]) -> None:
    services, base_url, _ = site
    with browser_like(base_url, TECHNICIAN) as technician:
        assert technician.get("/").status_code == 200
        [member] = [u for u in services.users.list() if u.username == TECHNICIAN.username]
        services.users.update(member.id, active=False)
        assert technician.get("/").status_code == 303
        assert sign_in(technician, TECHNICIAN).status_code == 401


def test_sign_in_never_redirects_elsewhere(site: tuple[Services, str, str]) -> None:
    _, base_url, _ = site
    with browser_like(base_url) as client:
        page = client.get("/login?next=//evil.example/x")
        answer = client.post(
            "/login",
            data={
                "username": ADMIN.username,
                "password": ADMIN.password,
                "csrf_token": csrf_in(page.text),
                "next": "https://evil.example/",
            },
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/"


def test_api_and_health_still_served(site: tuple[Services, str, str]) -> None:
    _, base_url, _ = site
    with httpx.Client(base_url=base_url) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        assert client.get("/docs").status_code == 200
        assert client.get("/metrics").status_code == 200
        assert client.get("/api/v1/catalog").status_code == 401  # a token, not a cookie
        assert client.get("/static/htmx.min.js").status_code == 200


def test_pages_forbid_inline_scripts_and_framing(site: tuple[Services, str, str]) -> None:
    _, base_url, _ = site
    with browser_like(base_url, ADMIN) as client:
        for path in ["/login", *MEMBER_PAGES, *ADMIN_PAGES, "/static/app.css", "/api/v1/catalog"]:
            headers = client.get(path).headers
            policy = {
                name: value.strip()
                for name, _, value in (
                    part.strip().partition(" ")
                    for part in headers["content-security-policy"].split(";")
                )
            }
            assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'", path
            assert policy["frame-ancestors"] == "'none'", path
            assert headers["x-frame-options"] == "DENY", path
            assert headers["x-content-type-options"] == "nosniff", path
            assert headers["referrer-policy"] == "same-origin", path
        docs = client.get("/docs").headers["content-security-policy"]
        assert "frame-ancestors 'none'" in docs  # Swagger UI runs its inline start, unframed
