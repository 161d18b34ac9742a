"""Business hours: schedule parsing, holidays (national, state, extra), time zones, pt-BR text."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from atende.domain.business_hours import BusinessHours, Interval, parse_hours

SP = ZoneInfo("America/Sao_Paulo")
DEFAULT = "mon-fri 08:00-12:00,13:30-17:30"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SP)


@pytest.fixture
def hours() -> BusinessHours:
    return BusinessHours.from_config(DEFAULT, holidays="BR")


def test_open_on_a_weekday_morning_and_afternoon(hours: BusinessHours) -> None:
    assert hours.is_open(local(2026, 11, 18, 8, 0))  # Wednesday
    assert hours.is_open(local(2026, 11, 18, 11, 59, 59))
    assert hours.is_open(local(2026, 11, 18, 13, 30))
    assert hours.is_open(local(2026, 11, 18, 17, 29))


def test_closed_before_opening_at_lunch_and_after_closing(hours: BusinessHours) -> None:
    assert not hours.is_open(local(2026, 11, 18, 7, 59))
    assert not hours.is_open(local(2026, 11, 18, 12, 0))
    assert not hours.is_open(local(2026, 11, 18, 13, 0))
    assert not hours.is_open(local(2026, 11, 18, 17, 30))


def test_closed_on_saturday_and_sunday(hours: BusinessHours) -> None:
    assert not hours.is_open(local(2026, 11, 21, 10, 0))
    assert not hours.is_open(local(2026, 11, 22, 10, 0))


def test_utc_time_is_read_on_the_local_clock(hours: BusinessHours) -> None:
    # 11:30 UTC is 08:30 in São Paulo (UTC-3): open; 10:30 UTC is 07:30 there: closed.
    assert hours.is_open(datetime(2026, 11, 18, 11, 30, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 11, 18, 10, 30, tzinfo=UTC))
    # 15:00 UTC on a Tuesday is 12:00 local: lunch, closed, though 15:00 would be open.
    assert not hours.is_open(datetime(2026, 11, 17, 15, 0, tzinfo=UTC))


def test_utc_date_is_read_on_the_local_calendar() -> None:
    # 01:00 UTC on Saturday is still Friday 22:00 in São Paulo.
    evenings = BusinessHours.from_config("fri 20:00-24:00", holidays="")
    assert evenings.is_open(datetime(2026, 11, 21, 1, 0, tzinfo=UTC))
    assert not evenings.is_open(datetime(2026, 11, 22, 1, 0, tzinfo=UTC))


def test_naive_datetime_is_refused(hours: BusinessHours) -> None:
    with pytest.raises(ValueError, match="aware"):
        hours.is_open(datetime(2026, 11, 18, 9, 0))


def test_national_holidays_close(hours: BusinessHours) -> None:
    # Consciência Negra (20 Nov) is national since Lei 14.759/2023; in 2026 it is a Friday.
    assert hours.is_holiday(date(2026, 11, 20))
    assert not hours.is_open(local(2026, 11, 20, 9, 0))
    assert hours.is_open(local(2026, 11, 19, 9, 0))
    assert not hours.is_open(local(2025, 12, 25, 9, 0))  # Christmas, a Thursday
    assert not hours.is_holiday(date(2025, 12, 26))


def test_state_holidays_come_with_the_subdivision() -> None:
    # 9 July (Revolução Constitucionalista) is a São Paulo state holiday; 2026-07-09 is a
    # Thursday.
    national = BusinessHours.from_config(DEFAULT, holidays="BR")
    sao_paulo = BusinessHours.from_config(DEFAULT, holidays="BR-SP")
    assert national.is_open(local(2026, 7, 9, 9, 0))
    assert not sao_paulo.is_open(local(2026, 7, 9, 9, 0))
    assert sao_paulo.is_holiday(date(2026, 11, 20))  # national ones stay


def test_parana_holidays_and_its_emancipation_day_as_an_extra() -> None:
    # The holidays library gives Paraná only Nossa Senhora do Rocio (15 Nov, same day as the
    # national Proclamação da República) and not 19 December; an integrator who closes on
    # the Emancipação Política do Paraná adds it as a yearly extra date.
    parana = BusinessHours.from_config(DEFAULT, holidays="br-pr", extra_holidays="12-19")
    assert parana.is_holiday(date(2026, 11, 15))
    assert not parana.is_open(local(2025, 12, 19, 9, 0))  # a Friday
    assert not parana.is_open(local(2030, 12, 19, 9, 0))  # a Thursday, years later
    assert parana.is_open(local(2025, 12, 18, 9, 0))


def test_extra_full_dates_close_only_that_year() -> None:
    hours = BusinessHours.from_config(DEFAULT, holidays="BR", extra_holidays="2026-03-19, 06-01")
    assert not hours.is_open(local(2026, 3, 19, 9, 0))
    assert hours.is_open(local(2027, 3, 19, 9, 0))  # a Friday, not listed for 2027
    assert not hours.is_open(local(2026, 6, 1, 9, 0))
    assert not hours.is_open(local(2027, 6, 1, 9, 0))


def test_no_public_holidays_when_empty() -> None:
    hours = BusinessHours.from_config(DEFAULT, holidays="")
    assert hours.is_open(local(2026, 11, 20, 9, 0))


def test_richer_schedule_with_saturday_morning() -> None:
    hours = BusinessHours.from_config(f"{DEFAULT}; sat 08:00-12:00", holidays="")
    assert hours.is_open(local(2026, 11, 21, 9, 0))
    assert not hours.is_open(local(2026, 11, 21, 14, 0))
    assert not hours.is_open(local(2026, 11, 22, 9, 0))


def test_parse_single_days_lists_wrapping_ranges_and_midnight() -> None:
    schedule = parse_hours("MON,wed 09:00-10:00;  sat-mon 20:00-24:00")
    assert schedule[0] == (Interval(9 * 60, 10 * 60), Interval(20 * 60, 24 * 60))
    assert schedule[1] == ()
    assert schedule[2] == (Interval(9 * 60, 10 * 60),)
    assert schedule[5] == schedule[6] == (Interval(20 * 60, 24 * 60),)
    hours = BusinessHours(schedule, SP)
    assert hours.is_open(local(2026, 11, 22, 23, 59, 59))  # Sunday


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ("mox 08:00-12:00", "unknown day 'mox'"),
        ("mon-fri", "has no times"),
        ("08:00-12:00", "names no days"),
        ("", "empty"),
        ("mon-fri 8-12", "bad time '8'"),
        ("mon-fri 08:00-25:00", "bad time '25:00'"),
        ("mon-fri 08:60-12:00", "bad time '08:60'"),
        ("mon-fri 18:00-08:00", "ends before it starts"),
        ("mon-fri 08:00-12:00; fri 11:00-13:00", "overlapping times on fri"),
    ],
)
def test_bad_hours_name_the_setting_and_the_fault(hours: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        BusinessHours.from_config(hours)
    assert str(caught.value).startswith("ATENDE_HOURS: ")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"holidays": "XX"}, "ATENDE_HOLIDAYS: unknown country 'XX'"),
        ({"holidays": "BR-ZZ"}, "ATENDE_HOLIDAYS: unknown subdivision 'ZZ' of BR"),
        ({"extra_holidays": "2026-02-30"}, "ATENDE_EXTRA_HOLIDAYS: bad date '2026-02-30'"),
        ({"extra_holidays": "25/12"}, "ATENDE_EXTRA_HOLIDAYS: bad date '25/12'"),
        ({"timezone": "America/Curitba"}, "ATENDE_TIMEZONE: unknown time zone"),
    ],
)
def test_bad_holiday_and_zone_settings(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        BusinessHours.from_config(DEFAULT, **kwargs)
    assert str(caught.value).startswith(message)


def test_describe_the_default_hours(hours: BusinessHours) -> None:
    assert hours.describe() == (
        "de segunda a sexta-feira, das 8 às 12 horas e das 13 e 30 às 17 e 30"
    )


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        (
            f"{DEFAULT}; sat 08:00-12:00",
            "de segunda a sexta-feira, das 8 às 12 horas e das 13 e 30 às 17 e 30, "
            "e aos sábados, das 8 às 12 horas",
        ),
        ("tue-sat 09:00-18:00", "de terça-feira a sábado, das 9 às 18 horas"),
        ("mon,wed,fri 01:00-13:15", "às segundas, quartas e sextas-feiras, da 1 às 13 e 15"),
        ("sat-sun 18:00-24:00", "aos sábados e domingos, das 18 à meia-noite"),
        ("mon-sun 00:00-24:00", "todos os dias, 24 horas por dia"),
    ],
)
def test_describe_reads_naturally(text: str, spoken: str) -> None:
    assert BusinessHours.from_config(text).describe() == spoken


def test_next_opening_skips_lunch_weekend_and_holiday(hours: BusinessHours) -> None:
    assert hours.next_opening(local(2026, 11, 18, 12, 10)) == local(2026, 11, 18, 13, 30)
    # Thursday evening: Friday 20 Nov is a holiday, then the weekend.
    assert hours.next_opening(datetime(2026, 11, 19, 23, 0, tzinfo=UTC)) == local(
        2026, 11, 23, 8, 0
    )
    now = local(2026, 11, 18, 9, 0)
    assert hours.next_opening(now) == now
