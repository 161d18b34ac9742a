"""Administration: business hours per weekday, the official holiday calendar and extra closed
days, saved in the database (they override ``ATENDE_HOURS``/``ATENDE_HOLIDAYS``; the phone flow
reads them at each call)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from atende.db.ids import RowId
from atende.domain.business_hours import DAY_NAMES, Interval, parse_hours
from atende.services.site_settings import HOURS, PUBLIC_HOLIDAYS, SiteSettingsService
from atende.services.users import SignedIn
from atende.web.queries import parse_day
from atende.web.security import Admin, FormAdmin, actor, services_of
from atende.web.templating import after_form, render
from atende.web.texts import web_text

router = APIRouter(prefix="/admin/hours", include_in_schema=False)

PAGE = "/admin/hours"


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _intervals_text(intervals: tuple[Interval, ...]) -> str:
    return ", ".join(f"{_clock(i.start)}-{_clock(i.end)}" for i in intervals)


def _page(
    request: Request, error: str = "", status: int = 200, typed: dict[int, str] | None = None
) -> Response:
    site = services_of(request).site
    values = site.effective()
    hours = site.business_hours()
    days = typed or {n: _intervals_text(ivs) for n, ivs in enumerate(hours.schedule)}
    return render(
        request,
        "admin/hours.html",
        {
            "days": days,
            "values": values,
            "hours_key": HOURS,
            "public_key": PUBLIC_HOLIDAYS,
            "heard": hours.describe(),
            "open_now": hours.is_open(services_of(request).runtime.clock()),
            "holidays": site.holidays(),
            "env_extra": services_of(request).runtime.settings.extra_holidays,
            "error": error,
        },
        status,
    )


def _apply(request: Request, change: Callable[[SiteSettingsService], object]) -> Response:
    site = services_of(request).site
    return after_form(
        request,
        lambda: change(site),
        _page,
        PAGE,
        "hours_saved",
    )


@router.get("")
def hours_page(request: Request, member: Admin) -> Response:
    return _page(request)


@router.post("")
async def save_hours(request: Request, member: FormAdmin) -> Response:
    """Seven fields (``day0``..``day6``, Monday first) of ``HH:MM-HH:MM`` lists."""
    form = await request.form()
    typed = {n: str(form.get(f"day{n}", "")).strip() for n in range(len(DAY_NAMES))}
    return await run_in_threadpool(_save_week, request, member, typed)  # database work


def _save_week(request: Request, member: SignedIn, typed: dict[int, str]) -> Response:
    language = services_of(request).runtime.settings.language
    groups = []
    for n, intervals in typed.items():
        if not intervals:
            continue
        group = f"{DAY_NAMES[n]} {intervals}"
        try:
            parse_hours(group)
        except ValueError:
            day = web_text(f"weekday_{n}", language)
            return _page(request, web_text("error_hours_day", language, day=day), 422, typed)
        groups.append(group)
    if not groups:
        return _page(request, web_text("error_hours_empty", language), 422, typed)
    return _apply(request, lambda site: site.save(HOURS, "; ".join(groups), actor(member)))


@router.post("/holidays-calendar")
def save_public_holidays(
    request: Request, member: FormAdmin, calendar: Annotated[str, Form()] = ""
) -> Response:
    return _apply(request, lambda site: site.save(PUBLIC_HOLIDAYS, calendar, actor(member)))


@router.post("/reset/{key}")
def reset(request: Request, key: str, member: FormAdmin) -> Response:
    return _apply(request, lambda site: site.reset(key))


@router.post("/days")
def add_day(
    request: Request,
    member: FormAdmin,
    day: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    yearly: Annotated[bool, Form()] = False,
) -> Response:
    parsed: date | None = parse_day(day)
    spec = (parsed.strftime("%m-%d") if yearly else parsed.isoformat()) if parsed else day
    return _apply(request, lambda site: site.add_holiday(spec, name))


@router.post("/days/{holiday_id}/delete")
def remove_day(request: Request, holiday_id: RowId, member: FormAdmin) -> Response:
    return _apply(request, lambda site: site.remove_holiday(holiday_id))
