"""Business hours and holidays: is the team there now, and how to say when it is.

The IVR answers round the clock, but a person only takes calls inside the configured hours,
so the flow asks :meth:`BusinessHours.is_open` before offering a transfer and, when closed,
reads :meth:`BusinessHours.describe` to the caller. The rules come from three settings:

* ``ATENDE_HOURS``: ``;``-separated groups of days and times, each ``DAYS INTERVALS``, where
  DAYS is a comma list of days (``mon``..``sun``) or ranges (``mon-fri``) and INTERVALS a comma
  list of ``HH:MM-HH:MM`` (``24:00`` closes at midnight); for example
  ``mon-fri 08:00-12:00,13:30-17:30; sat 08:00-12:00``.
* ``ATENDE_HOLIDAYS``: a country of the ``holidays`` library, optionally with a subdivision
  (``BR`` national, ``BR-PR`` national plus Paraná's); empty for none.
* ``ATENDE_EXTRA_HOLIDAYS``: a comma list of ``YYYY-MM-DD`` (one day) and ``MM-DD`` (every
  year), for local holidays the library does not know (a city's anniversary, a closed day).

Wrong values raise :class:`ValueError` naming the setting, so startup stops with one line.
Times are compared on the configured time zone's wall clock, whatever zone the caller passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from atende.domain.digits import ASCII_DIGITS, is_digits

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MIDNIGHT = 24 * 60

# Plural names as heard in "às segundas-feiras"; weekdays lose "-feira" inside a list.
_PT_DAYS = ("segunda", "terça", "quarta", "quinta", "sexta", "sábado", "domingo")


@dataclass(frozen=True, order=True)
class Interval:
    """Opening time ``start`` up to (excluding) ``end``, in minutes after midnight."""

    start: int
    end: int

    def contains(self, moment: time) -> bool:
        seconds = moment.hour * 3600 + moment.minute * 60 + moment.second
        return self.start * 60 <= seconds < self.end * 60


Schedule = tuple[tuple[Interval, ...], ...]
"""Seven tuples of sorted, non-overlapping intervals; index 0 is Monday."""


def _parse_clock(text: str, setting: str) -> int:
    hours, sep, minutes = text.partition(":")
    if not (sep and is_digits(hours) and len(minutes) == 2 and is_digits(minutes)):
        raise ValueError(f"{setting}: bad time {text!r} (use HH:MM)")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > _MIDNIGHT:
        raise ValueError(f"{setting}: bad time {text!r} (use HH:MM)")
    return value


def _parse_day(name: str) -> int:
    try:
        return DAY_NAMES.index(name)
    except ValueError:
        raise ValueError(
            f"ATENDE_HOURS: unknown day {name!r} (use {', '.join(DAY_NAMES)})"
        ) from None


def _parse_days(text: str) -> list[int]:
    days: list[int] = []
    for part in text.split(","):
        first, sep, last = part.partition("-")
        start = _parse_day(first)
        if not sep:
            days.append(start)
            continue
        # Ranges may wrap round the week: "sat-mon" is Saturday, Sunday and Monday.
        span = (_parse_day(last) - start) % 7
        days.extend((start + offset) % 7 for offset in range(span + 1))
    return days


def _parse_interval(text: str) -> Interval:
    first, sep, last = text.strip().partition("-")
    if not sep:
        raise ValueError(f"ATENDE_HOURS: bad interval {text.strip()!r} (use HH:MM-HH:MM)")
    interval = Interval(
        _parse_clock(first.strip(), "ATENDE_HOURS"), _parse_clock(last.strip(), "ATENDE_HOURS")
    )
    if interval.end <= interval.start:
        raise ValueError(
            f"ATENDE_HOURS: interval {text.strip()!r} ends before it starts "
            "(intervals cannot cross midnight: split them)"
        )
    return interval


def parse_hours(text: str) -> Schedule:
    """``ATENDE_HOURS`` to a weekly schedule; a day named twice gets both groups' intervals."""
    week: list[list[Interval]] = [[] for _ in DAY_NAMES]
    groups = [" ".join(group.split()) for group in text.lower().split(";") if group.strip()]
    if not groups:
        raise ValueError("ATENDE_HOURS: empty (example: 'mon-fri 08:00-18:00')")
    for group in groups:
        days_text, _, intervals_text = group.partition(" ")
        if any(ch in ASCII_DIGITS for ch in days_text):
            raise ValueError(f"ATENDE_HOURS: {group!r} names no days (example: 'mon 08:00-12:00')")
        if not intervals_text:
            raise ValueError(f"ATENDE_HOURS: {group!r} has no times (example: 'sat 08:00-12:00')")
        intervals = [_parse_interval(part) for part in intervals_text.split(",")]
        for day in _parse_days(days_text):
            week[day].extend(intervals)
    for day, intervals in enumerate(week):
        intervals.sort()
        for before, after in pairwise(intervals):
            if after.start < before.end:
                raise ValueError(f"ATENDE_HOURS: overlapping times on {DAY_NAMES[day]}")
    return tuple(tuple(intervals) for intervals in week)


def _public_holidays(spec: str) -> holidays.HolidayBase | None:
    spec = spec.strip()
    if not spec or spec.lower() == "none":
        return None
    country, _, subdivision = spec.partition("-")
    try:
        return holidays.country_holidays(country.upper(), subdiv=subdivision.upper() or None)
    except NotImplementedError:
        if country.upper() not in holidays.list_supported_countries():
            raise ValueError(f"ATENDE_HOLIDAYS: unknown country {country!r}") from None
        raise ValueError(
            f"ATENDE_HOLIDAYS: unknown subdivision {subdivision!r} of {country.upper()}"
        ) from None


def _parse_extra_holidays(text: str) -> tuple[frozenset[date], frozenset[tuple[int, int]]]:
    dates: set[date] = set()
    yearly: set[tuple[int, int]] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            if part.count("-") == 1:
                month, day = (int(n) for n in part.split("-"))
                date(2000, month, day)  # a leap year, so 02-29 is accepted
                yearly.add((month, day))
            else:
                dates.add(date.fromisoformat(part))
        except ValueError:
            raise ValueError(
                f"ATENDE_EXTRA_HOLIDAYS: bad date {part!r} (use YYYY-MM-DD or MM-DD)"
            ) from None
    return frozenset(dates), frozenset(yearly)


def _clock_words(minutes: int) -> str:
    hour, minute = divmod(minutes, 60)
    return str(hour) if minute == 0 else f"{hour} e {minute}"


def _from_words(minutes: int) -> str:
    if minutes == 0:
        return "da meia-noite"
    return ("da " if minutes // 60 == 1 else "das ") + _clock_words(minutes)


def _to_words(minutes: int) -> str:
    if minutes == _MIDNIGHT:
        return "à meia-noite"
    hour, minute = divmod(minutes, 60)
    words = ("à " if hour == 1 else "às ") + _clock_words(minutes)
    if minute == 0:
        words += " hora" if hour == 1 else " horas"
    return words


def _interval_words(interval: Interval) -> str:
    if interval == Interval(0, _MIDNIGHT):
        return "24 horas por dia"
    return f"{_from_words(interval.start)} {_to_words(interval.end)}"


def _join(parts: list[str], last: str = " e ") -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + last + parts[-1]


def _days_words(days: list[int]) -> str:
    if len(days) == 7:
        return "todos os dias"
    if len(days) >= 3 and days == list(range(days[0], days[-1] + 1)):
        first, last = _PT_DAYS[days[0]], _PT_DAYS[days[-1]]
        if days[-1] <= 4:  # weekdays only: "de segunda a sexta-feira"
            return f"de {first} a {last}-feira"
        return f"de {first}-feira a {last}"
    weekdays = [_PT_DAYS[d] + "s" for d in days if d <= 4]
    weekend = [_PT_DAYS[d] + "s" for d in days if d > 4]
    parts = []
    if weekdays:
        parts.append("às " + _join(weekdays) + "-feiras")
    if weekend:
        parts.append("aos " + _join(weekend))
    return _join(parts)


class BusinessHours:
    """A weekly schedule, closed on holidays, read on one time zone's wall clock."""

    def __init__(
        self,
        schedule: Schedule,
        timezone: ZoneInfo,
        public_holidays: holidays.HolidayBase | None = None,
        extra_dates: frozenset[date] = frozenset(),
        extra_yearly: frozenset[tuple[int, int]] = frozenset(),
    ) -> None:
        self.schedule = schedule
        self.timezone = timezone
        self._public = public_holidays
        self._extra_dates = extra_dates
        self._extra_yearly = extra_yearly

    @classmethod
    def from_config(
        cls,
        hours: str,
        holidays: str = "BR",
        extra_holidays: str = "",
        timezone: str = "America/Sao_Paulo",
    ) -> BusinessHours:
        """Build from the ``ATENDE_HOURS``/``_HOLIDAYS``/``_EXTRA_HOLIDAYS``/``_TIMEZONE`` text."""
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"ATENDE_TIMEZONE: unknown time zone {timezone!r} (e.g. America/Sao_Paulo)"
            ) from None
        extra_dates, extra_yearly = _parse_extra_holidays(extra_holidays)
        return cls(parse_hours(hours), zone, _public_holidays(holidays), extra_dates, extra_yearly)

    def is_holiday(self, day: date) -> bool:
        if day in self._extra_dates or (day.month, day.day) in self._extra_yearly:
            return True
        return self._public is not None and day in self._public

    def is_open(self, at: datetime) -> bool:
        local = self._local(at)
        if self.is_holiday(local.date()):
            return False
        return any(i.contains(local.time()) for i in self.schedule[local.weekday()])

    def next_opening(self, at: datetime) -> datetime | None:
        """``at`` itself when open, else the next opening time (local zone); None within a year."""
        local = self._local(at)
        if self.is_open(local):
            return local
        for offset in range(367):
            day = local.date() + timedelta(days=offset)
            if self.is_holiday(day):
                continue
            for interval in self.schedule[day.weekday()]:
                hour, minute = divmod(interval.start, 60)
                opening = datetime.combine(day, time(hour, minute), self.timezone)
                if opening > local:
                    return opening
        return None

    def describe(self) -> str:
        """The hours as heard after "Nosso horário de atendimento é", in pt-BR."""
        groups: dict[tuple[Interval, ...], list[int]] = {}
        for day, intervals in enumerate(self.schedule):
            if intervals:
                groups.setdefault(intervals, []).append(day)
        parts = [
            f"{_days_words(days)}, {_join([_interval_words(i) for i in intervals])}"
            for intervals, days in groups.items()
        ]
        return _join(parts, last=", e ")

    def _local(self, at: datetime) -> datetime:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("BusinessHours needs an aware datetime, not a naive one")
        return at.astimezone(self.timezone)
