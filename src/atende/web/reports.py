"""The reports page: each report as a chart (Chart.js, drawn in the browser from the same rows),
a table, and a CSV export of those rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from fastapi import APIRouter, Request
from starlette.responses import Response

from atende.services.bundle import Services
from atende.services.reports import Period, Share
from atende.services.spreadsheets import Cell, excel_csv
from atende.web.queries import parse_day
from atende.web.security import Member, services_of
from atende.web.templating import not_found, number, render, seconds
from atende.web.texts import web_text

router = APIRouter(include_in_schema=False)

DEFAULT_DAYS = 30
MAX_DAYS = 366
T = Callable[..., str]  # the text function: t(key, **fields)


@dataclass
class Report:
    """One report: its title, table (header and rows) and chart."""

    name: str
    title: str
    headers: list[str]
    rows: list[list[Cell]]
    chart: dict[str, object]
    hint: str = ""
    summary: str = ""
    numeric: set[int] = field(default_factory=set)  # columns aligned right


def _chart(kind: str, labels: list[str], series: str, values: list[float]) -> dict[str, object]:
    return {"type": kind, "labels": labels, "series": series, "values": values}


def _share_report(
    name: str, title: str, first: str, rows: list[Share], label: Callable[[str], str], t: T
) -> Report:
    labels = [label(row.label) for row in rows]
    return Report(
        name,
        title,
        [first, t("records"), t("percent")],
        [[labels[n], row.count, row.percent] for n, row in enumerate(rows)],
        _chart("bar", labels, t("records"), [row.count for row in rows]),
        numeric={1, 2},
    )


def build_reports(services: Services, period: Period, t: T) -> list[Report]:
    reports = services.reports

    def translated(prefix: str) -> Callable[[str], str]:
        def label(value: str) -> str:
            try:
                return t(f"{prefix}_{value}")
            except KeyError:
                return value

        return label

    per_day = reports.tickets_per_day(period)
    per_item = reports.tickets_per_item(period)
    wait = reports.time_to_protocol(period)
    day_labels = [day.strftime("%d/%m") for day, _ in per_day]
    wait_report = _share_report("wait", t("report_wait"), t("seconds"), wait.histogram, str, t)
    if wait.count:
        wait_report.summary = t(
            "report_wait_summary",
            count=wait.count,
            median=seconds(wait.median),
            p90=seconds(wait.p90),
        )
    resolution = _share_report(
        "resolution",
        t("report_resolution"),
        t("outcome"),
        reports.resolution(period),
        translated("resolution"),
        t,
    )
    resolution.chart["type"] = "doughnut"
    resolution.hint = t("report_resolution_hint")
    give_ups = _share_report(
        "give_ups",
        t("report_give_ups"),
        t("timeline_step"),
        reports.give_ups(period),
        translated("step"),
        t,
    )
    give_ups.hint = t("report_give_ups_hint")
    return [
        Report(
            "per_day",
            t("report_per_day"),
            [t("day"), t("tickets")],
            [[day.isoformat(), count] for day, count in per_day],
            _chart("line", day_labels, t("tickets"), [count for _, count in per_day]),
            numeric={1},
        ),
        Report(
            "per_item",
            t("report_per_item"),
            [t("category"), t("item"), t("tickets")],
            [[category, item, count] for category, item, count in per_item],
            _chart(
                "bar",
                [f"{category} · {item}" for category, item, _ in per_item],
                t("tickets"),
                [count for _, _, count in per_item],
            ),
            numeric={2},
        ),
        resolution,
        wait_report,
        give_ups,
        _share_report(
            "satisfaction",
            t("report_satisfaction"),
            t("survey_score"),
            reports.satisfaction(period),
            translated("survey"),
            t,
        ),
    ]


def _period(request: Request, services: Services) -> Period:
    params = request.query_params
    default = services.reports.last_days(DEFAULT_DAYS)
    first = parse_day(params.get("from")) or default.first
    last = parse_day(params.get("to")) or default.last
    if last < first:
        first, last = last, first
    first = max(first, last - timedelta(days=MAX_DAYS - 1))
    return Period(first, last)


def _translator(services: Services) -> T:
    language = services.runtime.settings.language

    def t(key: str, /, **fields: object) -> str:
        return web_text(key, language, **fields)

    return t


@router.get("/reports")
def reports_page(request: Request, member: Member) -> Response:
    services = services_of(request)
    period = _period(request, services)
    return render(
        request,
        "reports.html",
        {
            "reports": build_reports(services, period, _translator(services)),
            "period": period,
            "query": f"from={period.first.isoformat()}&to={period.last.isoformat()}",
            "number": number,
        },
    )


@router.get("/reports/{name}.csv")
def report_csv(request: Request, name: str, member: Member) -> Response:
    services = services_of(request)
    period = _period(request, services)
    found = [r for r in build_reports(services, period, _translator(services)) if r.name == name]
    if not found:
        return not_found(request)
    report = found[0]
    filename = f"atende-{name}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return Response(
        excel_csv(report.headers, report.rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
