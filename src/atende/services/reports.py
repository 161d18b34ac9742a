"""The support team's reports: tickets per day and per service, how calls end, how long a caller
waits for a protocol number, where callers give up, and satisfaction as in seed 000's Tabela 2.

Each report is a list of rows (what the dashboard charts and exports as CSV) over a period of
local calendar days. Rows are grouped here in Python rather than by SQL date functions, which
differ on SQLite, PostgreSQL and MariaDB and know nothing of ``ATENDE_TIMEZONE``.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from atende.db.models import Call, Category, Item, Ticket
from atende.runtime import Runtime
from atende.services.calls import CallView, Outcome

SOLVED_BY_URA = frozenset({Outcome.TICKET_OPENED, Outcome.STATUS_GIVEN})
# Seconds from dial to protocol number, as the histogram's upper bounds (the last is open).
WAIT_BUCKETS = (30, 60, 90, 120, 180)
SURVEY_SCORES = (1, 2, 3, 4, 5)
NO_ANSWER = "no_answer"


@dataclass(frozen=True)
class Period:
    """From ``first`` to ``last``, both included, in local days."""

    first: date
    last: date

    def bounds(self, runtime: Runtime) -> tuple[datetime, datetime]:
        start = datetime.combine(self.first, time(), runtime.zone).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time(), runtime.zone)
        return start, end.astimezone(UTC)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


@dataclass(frozen=True)
class Share:
    """One row of a count table: a label (a key the dashboard translates), count, percent."""

    label: str
    count: int
    percent: float


@dataclass(frozen=True)
class WaitStats:
    """Dial-to-protocol times of phone tickets, in seconds."""

    count: int
    median: float | None
    p90: float | None
    histogram: list[Share]


def shares(counts: list[tuple[str, int]]) -> list[Share]:
    total = sum(count for _, count in counts)
    return [
        Share(label, count, round(100 * count / total, 1) if total else 0.0)
        for label, count in counts
    ]


class ReportService:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.reads = runtime.reads

    def last_days(self, days: int) -> Period:
        today = self.runtime.today()
        return Period(today - timedelta(days=days - 1), today)

    def _local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.runtime.zone).date()

    def tickets_per_day(self, period: Period) -> list[tuple[date, int]]:
        start, end = period.bounds(self.runtime)
        with self.reads() as session:
            moments = session.scalars(
                select(Ticket.created_at).where(Ticket.created_at >= start, Ticket.created_at < end)
            ).all()
        counts = Counter(self._local_day(moment) for moment in moments)
        return [(day, counts.get(day, 0)) for day in period.days()]

    def tickets_per_item(self, period: Period) -> list[tuple[str, str, int]]:
        """(category, item, tickets), busiest first."""
        start, end = period.bounds(self.runtime)
        with self.reads() as session:
            rows = session.execute(
                select(Category.name, Item.name)
                .select_from(Ticket)
                .join(Item, Ticket.item_id == Item.id)
                .join(Category, Item.category_id == Category.id)
                .where(Ticket.created_at >= start, Ticket.created_at < end)
            ).all()
        counts = Counter((category, item) for category, item in rows)
        return [(c, i, n) for (c, i), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]

    def _calls(self, period: Period) -> list[CallView]:
        start, end = period.bounds(self.runtime)
        query = (
            select(Call)
            .where(Call.started_at >= start, Call.started_at < end, Call.outcome.is_not(None))
            .order_by(Call.id)  # ties in a report keep the order calls came in
        )
        with self.reads() as session:
            return [CallView.of(call) for call in session.scalars(query)]

    def resolution(self, period: Period) -> list[Share]:
        """Ended calls: solved by the URA alone, handed to a technician, or neither."""
        counts = Counter(
            "ura"
            if call.outcome in SOLVED_BY_URA
            else "technician"
            if call.outcome == Outcome.TRANSFERRED
            else "other"
            for call in self._calls(period)
        )
        return shares([(label, counts.get(label, 0)) for label in ("ura", "technician", "other")])

    def outcomes(self, period: Period) -> list[Share]:
        counts = Counter(call.outcome or "" for call in self._calls(period))
        return shares([(o.value, counts.get(o.value, 0)) for o in Outcome])

    def time_to_protocol(self, period: Period) -> WaitStats:
        start, end = period.bounds(self.runtime)
        with self.reads() as session:
            rows = session.execute(
                select(Ticket.created_at, Call.started_at)
                .join(Call, Ticket.call_id == Call.id)
                .where(Ticket.created_at >= start, Ticket.created_at < end)
            ).all()
        waits = sorted(max(0.0, (opened - dialled).total_seconds()) for opened, dialled in rows)
        counts: list[tuple[str, int]] = []
        lower = 0
        for upper in WAIT_BUCKETS:
            counts.append((f"{lower}-{upper}", sum(lower <= w < upper for w in waits)))
            lower = upper
        counts.append((f"{lower}+", sum(w >= lower for w in waits)))
        if not waits:
            return WaitStats(0, None, None, shares(counts))
        p90 = statistics.quantiles(waits, n=10)[-1] if len(waits) > 1 else waits[0]
        return WaitStats(len(waits), statistics.median(waits), p90, shares(counts))

    def give_ups(self, period: Period) -> list[Share]:
        """Abandoned calls by the last step the caller completed before hanging up."""
        counts: Counter[str] = Counter()
        for call in self._calls(period):
            if call.outcome != Outcome.ABANDONED:
                continue
            steps = [event for event in call.events if event.step != "hangup"]
            counts[steps[-1].step if steps else "answered"] += 1
        return shares(counts.most_common())

    def satisfaction(self, period: Period) -> list[Share]:
        """Seed 000's Tabela 2: calls asked the survey question, by answer (or none)."""
        counts: Counter[str] = Counter()
        for call in self._calls(period):
            if call.survey_score is not None:
                counts[str(call.survey_score)] += 1
            elif any(_survey_unanswered(event.step, event.detail) for event in call.events):
                counts[NO_ANSWER] += 1
        labels = [NO_ANSWER, *(str(score) for score in SURVEY_SCORES)]
        return shares([(label, counts.get(label, 0)) for label in labels])


def _survey_unanswered(step: str, detail: dict[str, object]) -> bool:
    """A step of a survey left without a score: a ``survey`` node's ``no_answer`` (steps are
    node ids), or the ``survey`` step of calls recorded before flows."""
    return step == "survey" or detail.get("result") == "no_answer"
