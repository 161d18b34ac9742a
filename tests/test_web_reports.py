"""Reports from recorded calls and tickets: per local day, per item, calls solved by the URA,
time to protocol, where callers give up, seed 000's Tabela 2; and their CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from atende.demo import load_demo_people
from atende.services.bundle import Services
from atende.services.calls import Ended, NewCall, StepRecord, Surveyed
from atende.services.reports import Period, Share
from atende.services.tickets import NewTicket
from e2e.site import ADMIN, browser_like, dashboard

MakeServices = Callable[..., Services]
T0 = datetime(2026, 3, 10, 13, 0, tzinfo=UTC)  # 10:00 in São Paulo
DAY = date(2026, 3, 10)


def _call(
    services: Services,
    name: str,
    steps: list[str],
    outcome: str,
    *,
    score: int | None = None,
    ticket_after: float | None = None,
) -> None:
    services.runtime.clock = lambda: T0
    call_id = services.calls.begin(NewCall(name, "2001", "SIP/2001-1"))
    records = [StepRecord(step, T0 + timedelta(seconds=n)) for n, step in enumerate(steps)]
    services.calls.record_many([(call_id, record) for record in records])
    if score is not None:
        services.calls.record_many([(call_id, Surveyed(score))])
    if ticket_after is not None:
        services.runtime.clock = lambda: T0 + timedelta(seconds=ticket_after)
        services.tickets.open(
            NewTicket(person_code="1001", item_id=1, channel="phone", call_id=call_id), "ura"
        )
    services.calls.record_many([(call_id, Ended(outcome, services.runtime.clock()))])


@pytest.fixture
def recorded(make_services: MakeServices) -> Services:
    services = make_services()
    load_demo_people(services.people)
    flow = ["answered", "main_menu", "category", "item", "ticket_opened"]
    _call(services, "c1", [*flow, "survey"], "ticket_opened", score=4, ticket_after=45)
    _call(services, "c2", [*flow, "survey"], "ticket_opened", score=4, ticket_after=100)
    _call(services, "c3", ["answered", "main_menu", "status", "survey"], "status_given", score=4)
    _call(
        services, "c4", ["answered", "main_menu", "transferred", "survey"], "transferred", score=5
    )
    _call(
        services, "c5", ["answered", "main_menu", "status", "survey"], "status_given"
    )  # no answer
    _call(services, "c6", ["answered", "main_menu", "hangup"], "abandoned")
    _call(services, "c7", ["answered", "hangup"], "abandoned")
    _call(services, "c8", ["answered", "main_menu", "category", "hangup"], "abandoned")
    # A ticket at 23:30 local the day before (02:30 UTC on the 10th).
    services.runtime.clock = lambda: datetime(2026, 3, 10, 2, 30, tzinfo=UTC)
    services.tickets.open(NewTicket(person_code="1002", item_id=3, channel="api"), "api:erp")
    services.runtime.clock = lambda: T0
    return services


def test_reports_count_what_happened(recorded: Services) -> None:
    reports = recorded.reports
    period = Period(DAY - timedelta(days=1), DAY)
    assert reports.tickets_per_day(period) == [(DAY - timedelta(days=1), 1), (DAY, 2)]
    per_item = reports.tickets_per_item(period)
    assert per_item[0] == ("Sistemas", "Atualização do portal", 2) and len(per_item) == 2
    assert reports.resolution(period) == [
        Share("ura", 4, 50.0),
        Share("technician", 1, 12.5),
        Share("other", 3, 37.5),
    ]
    wait = reports.time_to_protocol(period)
    assert (wait.count, wait.median) == (2, 72.5)
    assert [(s.label, s.count) for s in wait.histogram if s.count] == [("30-60", 1), ("90-120", 1)]
    assert reports.give_ups(period) == [
        Share("main_menu", 1, 33.3),
        Share("answered", 1, 33.3),
        Share("category", 1, 33.3),
    ]
    assert reports.satisfaction(period) == [
        Share("no_answer", 1, 20.0),
        Share("1", 0, 0.0),
        Share("2", 0, 0.0),
        Share("3", 0, 0.0),
        Share("4", 3, 60.0),
        Share("5", 1, 20.0),
    ]
    # A period without the calls is empty, not an error.
    earlier = Period(DAY - timedelta(days=30), DAY - timedelta(days=2))
    assert reports.time_to_protocol(earlier).count == 0
    assert all(s.count == 0 for s in reports.satisfaction(earlier))


def test_reports_page_and_csv_exports(recorded: Services) -> None:
    query = "from=2026-03-09&to=2026-03-10"
    with dashboard(recorded) as base_url, browser_like(base_url, ADMIN) as admin:
        page = admin.get(f"/reports?{query}")
        assert page.status_code == 200
        assert "Pesquisa de satisfação (Tabela 2)" in page.text
        assert "60,0" in page.text  # Bom: 3 of 5, with a Brazilian decimal comma
        answer = admin.get(f"/reports/satisfaction.csv?{query}")
        assert answer.headers["content-type"].startswith("text/csv")
        assert "attachment" in answer.headers["content-disposition"]
        # As Excel pt-BR opens it: UTF-8 with a BOM, ";" between cells, decimal commas.
        assert answer.content.startswith("\ufeffSatisfação;".encode())
        rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig")), delimiter=";"))
        assert rows == [
            ["Satisfação", "Registros", "%"],
            ["Não opinou", "1", "20,0"],
            ["Muito ruim", "0", "0,0"],
            ["Ruim", "0", "0,0"],
            ["Médio", "0", "0,0"],
            ["Bom", "3", "60,0"],
            ["Muito bom", "1", "20,0"],
        ]
        per_day = admin.get(f"/reports/per_day.csv?{query}").content.decode("utf-8-sig")
        assert per_day.splitlines()[1:] == ["2026-03-09;1", "2026-03-10;2"]
        give_ups = admin.get(f"/reports/give_ups.csv?{query}").content.decode("utf-8-sig")
        assert "Menu de categorias;1;33,3" in give_ups
        assert admin.get(f"/reports/nothing.csv?{query}").status_code == 404


def test_a_failed_one_time_code_is_an_outcome_of_its_own(make_services: MakeServices) -> None:
    services = make_services()
    _call(services, "v1", ["answered", "main_menu", "identified", "otp"], "verification_failed")
    _call(services, "n1", ["answered", "main_menu"], "no_input")

    counts = {share.label: share.count for share in services.reports.outcomes(Period(DAY, DAY))}
    assert (counts["verification_failed"], counts["no_input"]) == (1, 1)
    with dashboard(services) as base_url, browser_like(base_url, ADMIN) as admin:
        page = admin.get("/calls?outcome=verification_failed")
        assert page.status_code == 200
        assert "/calls/v1" in page.text and "/calls/n1" not in page.text
        assert "código de verificação não confirmado</span>" in page.text


def test_csv_exports_carry_no_live_formula(recorded: Services) -> None:
    """OWASP's CSV injection rule: a text cell starting with = + - @ tab or CR is prefixed
    with ' so the spreadsheet shows it instead of running it."""
    [category] = [c for c in recorded.catalog.tree() if c.items and c.items[0].id == 1]
    recorded.catalog.update_item(1, key=None, name='=HYPERLINK("http://x","y")', prompt=None)
    recorded.catalog.update_category(category.id, key=None, name="@SUM(1+1)", prompt=None)
    [other] = [c for c in recorded.catalog.tree() if any(i.id == 3 for i in c.items)]
    recorded.catalog.update_item(3, key=None, name="-2+3", prompt=None)
    if other.id != category.id:
        recorded.catalog.update_category(other.id, key=None, name="+cmd", prompt=None)
    query = "from=2026-03-09&to=2026-03-10"
    with dashboard(recorded) as base_url, browser_like(base_url, ADMIN) as admin:
        text = admin.get(f"/reports/per_item.csv?{query}").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    cells = {cell for row in rows[1:] for cell in row[:2]}
    assert """'=HYPERLINK("http://x","y")""" in cells and "'@SUM(1+1)" in cells
    assert "'-2+3" in cells
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)
