"""The dashboard in a real browser (Debian's Chromium through Playwright), with tickets opened by
simulated phone calls: the real FastAGI server and call flow, called by the fake Asterisk.

A technician signs in, sees a phone ticket arrive in the queue without reloading, changes its
status and sees the history and the queued notification; an administrator adds a catalog item
and changes the hours in the browser, and the next calls hear both. Every main page is saved as
a screenshot in ``test-artifacts/`` (1366x768, and the queue at phone size).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from atende.agi.emulator import AsteriskEmulator
from atende.demo import load_demo_people
from atende.domain.business_hours import DAY_NAMES, BusinessHours
from atende.services.bundle import Services
from atende.services.tickets import TicketFilter
from e2e.site import ADMIN, TECHNICIAN, Member, dashboard
from ura_harness import ScriptedCaller, call_ura

MakeServices = Callable[..., Services]

OFFICE = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
MAIN = "abrir um chamado"
MARIA = "Você é Maria da Silva"
CATEGORIES = "tipo de serviço"
PRINTERS = "serviço de Impressoras"
PROTOCOL = "ouvir o número novamente"
CSP = "Content Security Policy"
MARIA_EXTENSION = "2001"  # identifies Maria without a code (README, demo people)


def phone_call(services: Services, caller: ScriptedCaller) -> AsteriskEmulator:
    """One call from Maria's extension, in its own thread (Playwright keeps this one's loop)."""
    result: dict[str, AsteriskEmulator] = {}

    def run() -> None:
        result["fake"] = call_ura(services, caller, callerid=MARIA_EXTENSION)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(90)
    assert caller.unexpected == [], caller.unexpected
    return result["fake"]


@contextmanager
def signed_in(browser: Browser, base_url: str, member: Member, **viewport: int) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url, viewport=viewport or OFFICE, locale="pt-BR")
    page = context.new_page()
    refused: list[str] = []  # what the pages' Content-Security-Policy blocked, as Chromium says
    page.on(
        "console",
        lambda message: refused.append(message.text) if CSP in message.text else None,
    )
    page.goto("/")
    expect(page).to_have_url(f"{base_url}/login?next=%2F")
    page.fill("input[name=username]", member.username)
    page.fill("input[name=password]", member.password)
    page.click("form[action='/login'] button[type=submit]")
    expect(page.locator("header .who")).to_contain_text(member.name)
    try:
        yield page
    finally:
        context.close()
    assert refused == []


def shoot(page: Page, folder: Path, name: str) -> None:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000  # a page was drawn, not a blank


@pytest.fixture
def services(make_services: MakeServices) -> Services:
    services = make_services()  # always open, until the test changes the hours
    load_demo_people(services.people)
    return services


def test_team_works_a_phone_ticket_and_changes_catalog_and_hours(
    browser: Browser, services: Services, artifacts: Path
) -> None:
    with dashboard(services) as base_url:
        # A technician watches the queue; Maria calls and opens a ticket by phone.
        with signed_in(browser, base_url, TECHNICIAN) as page:
            expect(page.locator("#queue-rows")).to_contain_text("Nenhum chamado")
            page.evaluate("window.stillTheSamePage = true")
            opening = [(MAIN, "1"), (MARIA, "1"), (CATEGORIES, "3"), (PRINTERS, "1")]
            phone_call(services, ScriptedCaller([*opening, (PROTOCOL, None)]))
            [ticket] = services.tickets.list(TicketFilter(person_code="1001"))[0]
            row = page.locator(f"tr[data-protocol='{ticket.protocol}']")
            expect(row).to_be_visible(timeout=20_000)
            expect(row).to_contain_text("Maria da Silva")
            expect(row).to_contain_text("Instalar impressora")
            expect(row).to_contain_text("telefone")
            assert page.evaluate("window.stillTheSamePage") is True  # no reload
            shoot(page, artifacts, "01-queue-1366x768")

            # The ticket page offers only the allowed next statuses; the change is recorded
            # and the requester's notification is queued.
            row.locator("a").click()
            expect(page.locator("h1")).to_contain_text(ticket.protocol)
            options = page.locator("select[name=status] option").all_inner_texts()
            assert options[1:] == ["em atendimento", "aguardando", "resolvido", "cancelado"]
            page.select_option("select[name=status]", "in_progress")
            page.select_option("select[name=assignee]", label=TECHNICIAN.name)
            page.fill("textarea[name=note]", "Indo até a sala com o driver.")
            page.click("#change-form button[type=submit]")
            expect(page.locator(".notice")).to_contain_text("Chamado atualizado")
            expect(page.locator("#ticket-status")).to_have_text("em atendimento")
            history = page.locator("#history tbody tr")
            expect(history).to_have_count(2)
            expect(history.nth(1)).to_contain_text("aberto → em atendimento")
            expect(history.nth(1)).to_contain_text("Indo até a sala com o driver.")
            expect(history.nth(1)).to_contain_text(f"web:{TECHNICIAN.username}")
            notice = page.locator("#messages tbody tr", has_text="mudança de situação")
            expect(notice).to_contain_text("na fila")
            expect(notice).to_contain_text("*********01")  # Maria's phone, masked
            shoot(page, artifacts, "02-ticket-1366x768")

            page.click("a[href^='/calls/']")
            expect(page.locator("#timeline")).to_contain_text("Escolha do serviço")
            expect(page.locator("#timeline")).to_contain_text("categoria: 3")
            shoot(page, artifacts, "03-call-1366x768")
            page.goto("/calls?outcome=ticket_opened")
            expect(page.locator("#calls tbody tr")).to_have_count(1)
            shoot(page, artifacts, "04-calls-1366x768")

            page.goto("/reports")
            expect(page.locator("#report-per_item")).to_contain_text("Instalar impressora")
            # Every report with data is drawn (no call was abandoned: that one says so).
            expect(page.locator("canvas[data-drawn='1']")).to_have_count(5)
            expect(page.locator("#report-give_ups")).to_contain_text("Sem dados no período")
            shoot(page, artifacts, "05-reports-1366x768")

            page.goto("/admin/catalog")
            expect(page.locator("h1")).to_have_text("Acesso negado")

        with signed_in(browser, base_url, TECHNICIAN, **PHONE) as phone_page:
            expect(phone_page.locator(f"tr[data-protocol='{ticket.protocol}']")).to_be_visible()
            shoot(phone_page, artifacts, "06-queue-phone")

        # An administrator adds an item to the printers menu: the next call hears it.
        with signed_in(browser, base_url, ADMIN) as page:
            page.goto("/admin/catalog")
            add = page.locator("section[data-category='Impressoras'] form[action$='/items']")
            add.locator("input[name=key]").fill("4")
            add.locator("input[name=name]").fill("Trocar toner")
            add.locator("button").click()
            expect(page.locator(".notice")).to_contain_text("Catálogo atualizado")
            shoot(page, artifacts, "07-catalog-1366x768")
            caller = ScriptedCaller(
                [
                    (MAIN, "1"),
                    (MARIA, "1"),
                    (CATEGORIES, "3"),
                    ("Para Trocar toner, tecle 4", "4"),
                    (PROTOCOL, None),
                ]
            )
            phone_call(services, caller)
            newest = services.tickets.list(TicketFilter(person_code="1001"))[0][0]
            assert newest.item.name == "Trocar toner"

            # The hours: open only tomorrow 08:00-09:00, so now is closed; a caller asking
            # for a technician hears the new hours.
            zone = services.runtime.zone
            tomorrow = (services.runtime.clock().astimezone(zone) + timedelta(days=1)).weekday()
            page.goto("/admin/hours")
            for day in range(7):
                page.fill(f"input[name=day{day}]", "08:00-09:00" if day == tomorrow else "")
            page.click("#hours-form button[type=submit]")
            expect(page.locator(".notice")).to_contain_text("Horário salvo")
            expect(page.locator("#open-now")).to_have_text("Agora: fechado.")
            heard_now = BusinessHours.from_config(
                f"{DAY_NAMES[tomorrow]} 08:00-09:00", "", "", services.runtime.settings.timezone
            ).describe()
            expect(page.locator("#hours-heard")).to_contain_text(heard_now)
            shoot(page, artifacts, "08-hours-1366x768")
            caller = ScriptedCaller([(MAIN, "3"), ("horário de atendimento", None)])
            phone_call(services, caller)
            assert any(heard_now in prompt for prompt in caller.prompts)

            for path, name in (
                ("/admin/people", "09-people"),
                ("/admin/users", "10-team"),
                ("/admin/tokens", "11-tokens"),
                ("/admin/checks", "12-checks"),
            ):
                page.goto(path)
                expect(page.locator("h1")).to_be_visible()
                shoot(page, artifacts, f"{name}-1366x768")
