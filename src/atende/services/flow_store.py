"""Published call flows: their versions in the database, the current one, and which flow a
FastAGI call runs (by dialled number, else by the FastAGI path).

Publishing appends a version; nothing is ever changed or deleted, so a call records the
(name, version) it ran and reports can read that version later. The current version of a name
is its highest: restoring an old version appends a copy of its text (``restored_from`` names
it), so the history reads in order what callers heard, and "which is current" is one small
``max(version)`` query with no pointer to keep consistent across processes.

The flows that ship with atende (``ti``, ``plano-de-saude``) become version 1 the first time a
store is read, by whichever process gets there first: the (name, version) unique constraint
lets one insert win, the others read it. Parsed versions are kept in memory per
(name, version), as they never change; the current version of each name and the routes, which
every call reads, are cached, and every publish, restore and route change publishes the
``flows`` topic (see :mod:`atende.services.cache`), which drops them in every process.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from importlib.metadata import version as package_version
from types import MappingProxyType
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from atende.db.models import FlowRoute, FlowVersion
from atende.flows.errors import FlowError, FlowInvalid
from atende.flows.loader import SHIPPED, parse_flow, shipped_flow_names
from atende.flows.published import FlowSummary, FlowVersionInfo, PublishedFlow
from atende.flows.schema import Flow
from atende.runtime import Runtime
from atende.services.errors import Conflict, Invalid, NotFound

log = logging.getLogger(__name__)

T = TypeVar("T")

LEGACY_SCRIPTS = ("", "ura")  # agi://HOST:4573/ura (and no path): the default flow
NAME_MAX = 64
NUMBER = re.compile(r"^[0-9A-Za-z+*#._-]{1,64}$")  # what agi_dnid / agi_extension hold
SHIPPED_BY = "atende"
WRITE_ATTEMPTS = 10  # another process took the same version number: re-read and retry
TOPIC = "flows"


class InvalidFlow(Invalid):
    """A flow that cannot run: ``errors`` lists every problem with its node id and field."""

    def __init__(self, invalid: FlowInvalid) -> None:
        super().__init__(str(invalid), field="text")
        self.errors = invalid.errors


def check_text(text: str, source: str = "<flow>") -> Flow:
    """The flow in ``text`` if it can be published: valid, and a name a FastAGI path can
    reach. FlowInvalid lists every error (``atende flows check`` needs no database)."""
    flow = parse_flow(text, source)
    if flow.name in LEGACY_SCRIPTS:
        message = "'ura' is the FastAGI path of the default flow (ATENDE_FLOW); choose another"
        raise FlowInvalid(source, [FlowError("reserved_name", None, "name", message)])
    if len(flow.name) > NAME_MAX:
        message = f"at most {NAME_MAX} characters"
        raise FlowInvalid(source, [FlowError("schema", None, "name", message)])
    return flow


class FlowStore:
    def __init__(self, runtime: Runtime) -> None:
        self.sessions = runtime.sessions
        self.reads = runtime.reads  # the cached lookups: no write gate on SQLite
        self.clock = runtime.clock
        self.changes = runtime.changes
        self.default = runtime.settings.flow
        self._current_versions = runtime.changes.cache(TOPIC, self._load_current_version)
        self._routes = runtime.changes.cache(TOPIC, self._load_routes)
        self._parsed: dict[tuple[str, int], PublishedFlow] = {}
        self._shipped_published = False

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, text: str, actor: str, note: str = "") -> PublishedFlow:
        """Make ``text`` the next version of the flow it names, current at once for new calls.

        ``actor`` is ``cli:<user>``, ``web:<member>`` or ``api:<token>``. An invalid flow is
        refused with every error (InvalidFlow)."""
        try:
            flow = check_text(text, "flow")
        except FlowInvalid as exc:
            raise InvalidFlow(exc) from None
        self._publish_shipped()  # a first publish of ``ti`` follows the shipped version 1
        return self._append(flow.name, text, actor, note, restored_from=None)

    def restore(self, name: str, version: int, actor: str) -> PublishedFlow:
        """Make version ``version`` current again, as a new version with its text."""
        row = self._row(name, version)
        self._parse(row)  # an old text this release cannot run is refused (InvalidFlow)
        note = f"restored from version {version}"
        return self._append(name, row.text, actor, note, restored_from=version)

    def _append(
        self, name: str, text: str, actor: str, note: str, restored_from: int | None
    ) -> PublishedFlow:
        def insert() -> FlowVersion:
            with self.changes.transaction(TOPIC) as session:
                latest = session.scalar(
                    select(func.max(FlowVersion.version)).where(FlowVersion.name == name)
                )
                row = FlowVersion(
                    name=name,
                    version=(latest or 0) + 1,
                    text=text,
                    published_at=self.clock(),
                    published_by=actor[:120],
                    note=note,
                    restored_from=restored_from,
                )
                session.add(row)
            return row

        row = self._retrying(insert)
        log.info("flow %s version %d published", name, row.version)
        return self._parse(row)

    def _retrying(self, write: Callable[[], T]) -> T:
        """Run ``write`` (a transaction) again when another process wrote the same key first."""
        attempt = 1
        while True:
            try:
                return write()
            except IntegrityError:
                if attempt == WRITE_ATTEMPTS:
                    raise Conflict("the flows changed meanwhile; try again") from None
                attempt += 1

    def _publish_shipped(self) -> None:
        """Publish each shipped flow that has no version yet as version 1 (once per store)."""
        if self._shipped_published:
            return
        names = shipped_flow_names()
        with self.reads() as session:
            present = set(
                session.scalars(
                    select(FlowVersion.name).where(FlowVersion.name.in_(names)).distinct()
                )
            )
        for name in sorted(set(names) - present):
            try:
                # No topic: no cache holds a flow that has no version yet.
                with self.sessions.begin() as session:
                    session.add(
                        FlowVersion(
                            name=name,
                            version=1,
                            text=(SHIPPED / f"{name}.yaml").read_text(encoding="utf-8"),
                            published_at=self.clock(),
                            published_by=SHIPPED_BY,
                            note=f"shipped with atende {package_version('atende')}",
                        )
                    )
            except IntegrityError:
                pass  # another process published it first: the same text
        self._shipped_published = True

    # -- reading ------------------------------------------------------------------------------

    def names(self) -> list[str]:
        """The names of every published flow, shipped ones included."""
        self._publish_shipped()
        with self.sessions() as session:
            return list(
                session.scalars(select(FlowVersion.name).distinct().order_by(FlowVersion.name))
            )

    def current_version(self, name: str) -> int:
        """The number of the current version of ``name`` (cached: one small query)."""
        return self._current_versions.get(name)

    def _load_current_version(self, name: str) -> int:
        self._publish_shipped()
        with self.reads() as session:
            latest = session.scalar(
                select(func.max(FlowVersion.version)).where(FlowVersion.name == name)
            )
        if latest is None:
            raise NotFound(f"no flow named {name!r}; there are: {', '.join(self.names())}", "name")
        return latest

    def current(self, name: str) -> PublishedFlow:
        """The version of ``name`` that a call starting now runs."""
        return self.get(name, self.current_version(name))

    def get(self, name: str, version: int) -> PublishedFlow:
        """Version ``version`` of ``name``, parsed (kept in memory: versions never change)."""
        cached = self._parsed.get((name, version))
        if cached is not None:
            return cached
        return self._parse(self._row(name, version))

    def text(self, name: str, version: int | None = None) -> str:
        """The YAML text of a version (default: the current) exactly as it was published."""
        return self._row(name, self.current_version(name) if version is None else version).text

    def versions(self, name: str) -> list[FlowVersionInfo]:
        """The history of ``name``, oldest first (texts are not parsed)."""
        self._publish_shipped()
        with self.sessions() as session:
            rows = list(
                session.scalars(
                    select(FlowVersion)
                    .where(FlowVersion.name == name)
                    .order_by(FlowVersion.version)
                )
            )
        if not rows:
            raise NotFound(f"no flow named {name!r}; there are: {', '.join(self.names())}", "name")
        return [_info(row, current=row is rows[-1]) for row in rows]

    def version_info(self, name: str, version: int | None = None) -> FlowVersionInfo:
        """One line of the history of ``name`` (default: its current version)."""
        history = self.versions(name)
        wanted = history[-1].version if version is None else version
        found = next((info for info in history if info.version == wanted), None)
        if found is None:
            raise _no_version(name, wanted)
        return found

    def summaries(self) -> list[FlowSummary]:
        """Every flow with its current version and the numbers routed to it, by name."""
        routes = self.routes()
        return [
            FlowSummary(
                self.versions(name)[-1],
                tuple(number for number, target in routes.items() if target == name),
            )
            for name in self.names()
        ]

    def check_current(self) -> list[str]:
        """Why the flows cannot take calls, one line per error (empty: every current version
        runs, and the default flow ATENDE_FLOW exists): for start-up, as an upgrade of atende
        may refuse a flow an older release accepted."""
        problems = []
        names = self.names()
        if self.default not in names:
            problems.append(
                f"ATENDE_FLOW: no flow named {self.default!r}; there are: {', '.join(names)}"
            )
        for name in names:
            version = self.current_version(name)
            try:
                self.get(name, version)
            except InvalidFlow as exc:
                problems += [f"flow {name!r} version {version}: {error}" for error in exc.errors]
        return problems

    def _row(self, name: str, version: int) -> FlowVersion:
        self._publish_shipped()
        with self.reads() as session:
            row = session.scalar(
                select(FlowVersion).where(FlowVersion.name == name, FlowVersion.version == version)
            )
        if row is None:
            self.current_version(name)  # NotFound naming the flows there are
            raise _no_version(name, version)
        return row

    def _parse(self, row: FlowVersion) -> PublishedFlow:
        try:
            flow = parse_flow(row.text, f"flow {row.name!r} version {row.version}")
        except FlowInvalid as exc:
            raise InvalidFlow(exc) from None
        published = PublishedFlow(row.name, row.version, flow, row.published_at, row.published_by)
        self._parsed[(row.name, row.version)] = published
        return published

    # -- routes and calls ---------------------------------------------------------------------

    def routes(self) -> dict[str, str]:
        """Dialled number to flow name, by number."""
        return dict(self._routes.get(None))

    def _load_routes(self, _key: None) -> Mapping[str, str]:
        with self.reads() as session:
            rows = session.scalars(select(FlowRoute).order_by(FlowRoute.number))
            return MappingProxyType({row.number: row.flow_name for row in rows})

    def set_route(self, number: str, name: str) -> None:
        """Send calls to the dialled ``number`` to the flow ``name`` (whatever their path)."""
        number = number.strip()
        if not NUMBER.match(number):
            message = "a dialled number: up to 64 digits, letters or + * # . _ -"
            raise Invalid(message, field="number")
        self.current_version(name)  # NotFound for an unknown flow

        def upsert() -> None:
            with self.changes.transaction(TOPIC) as session:
                route = session.get(FlowRoute, number)
                if route is None:
                    route = FlowRoute(number=number)
                    session.add(route)
                route.flow_name = name
                route.updated_at = self.clock()

        self._retrying(upsert)

    def remove_route(self, number: str) -> None:
        with self.changes.transaction(TOPIC) as session:
            route = session.get(FlowRoute, number.strip())
            if route is None:
                raise NotFound(f"no route for the number {number!r}", field="number")
            session.delete(route)

    def resolve(self, script: str, dnid: str | None) -> PublishedFlow:
        """The flow a FastAGI call runs: its dialled number's route if there is one, else the
        flow its path names (``agi://HOST:4573/NAME``; ``ura`` or none: ATENDE_FLOW)."""
        if dnid and NUMBER.match(dnid):
            routed = self._routes.get(None).get(dnid)
            if routed is not None:
                return self.current(routed)
        script = script.strip("/")
        try:
            return self.current(self.default if script in LEGACY_SCRIPTS else script)
        except NotFound as exc:
            raise NotFound(f"FastAGI path {script!r}: {exc.message}", field="script") from None


def _info(row: FlowVersion, current: bool) -> FlowVersionInfo:
    return FlowVersionInfo(
        name=row.name,
        version=row.version,
        published_at=row.published_at,
        published_by=row.published_by,
        note=row.note,
        restored_from=row.restored_from,
        current=current,
    )


def _no_version(name: str, version: int) -> NotFound:
    return NotFound(f"flow {name!r} has no version {version}", field="version")
