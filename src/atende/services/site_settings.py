"""Business hours and holidays as the support team edits them in the dashboard.

``ATENDE_HOURS`` and ``ATENDE_HOLIDAYS`` are the installation's defaults; a value saved in the
dashboard (table ``site_settings``) overrides its variable until it is reset. Closed days added
in the dashboard (table ``holidays``) come on top of ``ATENDE_EXTRA_HOLIDAYS``. The phone flow
asks :meth:`SiteSettingsService.business_hours` at each call, so a change is heard at the next
call without a restart: both are cached, and every change publishes the ``site`` topic (see
:mod:`atende.services.cache`), which drops them in every process. Values are checked with the
same parser as the variables.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from atende.db.models import Holiday, SiteSetting
from atende.domain.business_hours import BusinessHours
from atende.runtime import Runtime
from atende.services.errors import Conflict, Invalid, NotFound

HOURS = "hours"
PUBLIC_HOLIDAYS = "holidays"
EDITABLE = (HOURS, PUBLIC_HOLIDAYS)
TOPIC = "site"


@dataclass(frozen=True)
class EffectiveValue:
    """A setting's value in force, and whether the dashboard changed it (else: the variable)."""

    value: str
    overridden: bool
    updated_by: str | None = None


@lru_cache(maxsize=32)
def _build(hours: str, public: str, extra: str, timezone: str) -> BusinessHours:
    # Building the holiday calendar is the costly part; values rarely change, so keep a few.
    return BusinessHours.from_config(hours, public, extra, timezone)


class SiteSettingsService:
    def __init__(self, runtime: Runtime) -> None:
        self.settings = runtime.settings
        self.sessions = runtime.sessions
        self.reads = runtime.reads  # the cached lookups: no write gate on SQLite
        self.clock = runtime.clock
        self.changes = runtime.changes
        self._effective = runtime.changes.cache(TOPIC, self._load_effective)
        self._days = runtime.changes.cache(TOPIC, self._load_extra_days)

    def effective(self) -> dict[str, EffectiveValue]:
        return dict(self._effective.get(None))

    def _load_effective(self, _key: None) -> tuple[tuple[str, EffectiveValue], ...]:
        with self.reads() as session:
            rows = {row.key: row for row in session.scalars(select(SiteSetting))}
        values: dict[str, EffectiveValue] = {}
        for key in EDITABLE:
            row = rows.get(key)
            if row is None:
                values[key] = EffectiveValue(getattr(self.settings, key), False)
            else:
                values[key] = EffectiveValue(row.value, True, row.updated_by)
        return tuple(values.items())

    def save(self, key: str, value: str, actor: str) -> None:
        """Override ``key``; a value the phone flow could not use is refused (field ``key``)."""
        if key not in EDITABLE:
            raise Invalid(f"{key} cannot be changed here", field=key)
        current = {k: v.value for k, v in self.effective().items()}
        current[key] = value.strip()
        try:
            self._hours_from(current, self._days.get(None))
        except ValueError as exc:
            raise Invalid(str(exc), field=key) from None
        with self.changes.transaction(TOPIC) as session:
            row = session.get(SiteSetting, key)
            if row is None:
                row = SiteSetting(key=key)
                session.add(row)
            row.value = value.strip()
            row.updated_at = self.clock()
            row.updated_by = actor

    def reset(self, key: str) -> None:
        """Go back to the variable's value."""
        with self.changes.transaction(TOPIC) as session:
            session.execute(delete(SiteSetting).where(SiteSetting.key == key))

    def holidays(self) -> list[Holiday]:
        with self.sessions() as session:
            return list(session.scalars(select(Holiday).order_by(Holiday.day)))

    def add_holiday(self, day: str, name: str) -> Holiday:
        """``day`` is ``YYYY-MM-DD`` (once) or ``MM-DD`` (every year)."""
        day = day.strip()
        try:
            BusinessHours.from_config(self.settings.hours, "", day, self.settings.timezone)
        except ValueError:
            raise Invalid("day: use YYYY-MM-DD, or MM-DD for every year", field="day") from None
        if not name.strip():
            raise Invalid("name is required", field="name")
        try:
            with self.changes.transaction(TOPIC) as session:
                holiday = Holiday(day=day, name=name.strip())
                session.add(holiday)
            return holiday
        except IntegrityError:
            raise Conflict("this day is already a holiday", field="day") from None

    def remove_holiday(self, holiday_id: int) -> None:
        with self.changes.transaction(TOPIC) as session:
            holiday = session.get(Holiday, holiday_id)
            if holiday is None:
                raise NotFound(f"no holiday {holiday_id}", field="holiday_id")
            session.delete(holiday)

    def business_hours(self) -> BusinessHours:
        """The hours in force now: what the phone flow reads at each call."""
        values = {k: v.value for k, v in self.effective().items()}
        return self._hours_from(values, self._days.get(None))

    def _load_extra_days(self, _key: None) -> str:
        with self.reads() as session:
            days = list(session.scalars(select(Holiday.day).order_by(Holiday.day)))
        return ",".join([self.settings.extra_holidays, *days])

    def _hours_from(self, values: dict[str, str], extra: str) -> BusinessHours:
        return _build(values[HOURS], values[PUBLIC_HOLIDAYS], extra, self.settings.timezone)
