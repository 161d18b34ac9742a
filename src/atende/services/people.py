"""People who call: create, find (by code, card, phone, extension), update, deactivate, import."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import cast

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Connection, Select, Table, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from atende.db.models import Person, PersonExtension
from atende.domain.identity import InvalidIdentifier, normalize_cpf, normalize_phone
from atende.runtime import Runtime
from atende.services import spreadsheets
from atende.services.errors import Conflict, Invalid, NotFound, ServiceError

UNIQUE_FIELDS = ("code", "card_number", "cpf")


@dataclass(frozen=True)
class PersonView:
    """A person as the service hands them to the directory, the API, the dashboard and the CLI:
    plain values read inside the session, never an ORM row (whose session is gone by the time
    the caller reads it). Personal data stays out of ``repr``, so a view in a log line or a
    traceback names the row only."""

    id: int
    code: str = field(repr=False)
    name: str = field(repr=False)
    phone: str | None = field(repr=False)
    email: str | None = field(repr=False)
    card_number: str | None = field(repr=False)
    cpf: str | None = field(repr=False)
    extensions: tuple[str, ...] = field(repr=False)
    active: bool
    notifications_opt_out: bool

    @classmethod
    def of(cls, person: Person) -> PersonView:
        return cls(
            id=person.id,
            code=person.code,
            name=person.name,
            phone=person.phone,
            email=person.email,
            card_number=person.card_number,
            cpf=person.cpf,
            extensions=tuple(e.extension for e in person.extensions),
            active=person.active,
            notifications_opt_out=person.notifications_opt_out,
        )


# People are read with SQLAlchemy Core: the phone path looks its caller up on every call, and
# the ORM's load (a row object, then a second SELECT for the extensions) cost more than the
# query (issue 12).
PEOPLE = cast(Table, Person.__table__)  # a declarative class maps a Table
EXTENSIONS = cast(Table, PersonExtension.__table__)
PERSON_COLUMNS = [
    PEOPLE.c[f.name] for f in dataclasses.fields(PersonView) if f.name != "extensions"
]


@functools.cache
def _people_statement(fields: tuple[str, ...], active_only: bool) -> Select[tuple[object, ...]]:
    """People matching every one of ``fields`` (bound by name), with their extensions: one row
    per extension (or one with None), in the order of the people's ids."""
    matching = select(PEOPLE.c.id)
    for name in fields:
        if name == "extension":
            matching = matching.join(EXTENSIONS, EXTENSIONS.c.person_id == PEOPLE.c.id).where(
                EXTENSIONS.c.extension == bindparam("extension")
            )
        else:
            matching = matching.where(PEOPLE.c[name] == bindparam(name))
    if active_only:
        matching = matching.where(PEOPLE.c.active.is_(True))
    return (
        select(*PERSON_COLUMNS, EXTENSIONS.c.extension)
        .outerjoin(EXTENSIONS, EXTENSIONS.c.person_id == PEOPLE.c.id)
        .where(PEOPLE.c.id.in_(matching.scalar_subquery()))
        .order_by(PEOPLE.c.id, EXTENSIONS.c.id)
    )


def read_people(
    connection: Connection, matches: dict[str, str], active_only: bool = False
) -> list[PersonView]:
    """The people whose ``matches`` (column names, or ``extension``) all hold, in one
    statement."""
    statement = _people_statement(tuple(sorted(matches)), active_only)
    views: dict[int, PersonView] = {}
    for row in connection.execute(statement, matches):
        values = dict(zip((c.name for c in PERSON_COLUMNS), row, strict=False))
        view = views.setdefault(row.id, PersonView(**values, extensions=()))  # type: ignore[arg-type]
        if row.extension is not None:
            views[row.id] = dataclasses.replace(view, extensions=(*view.extensions, row.extension))
    return list(views.values())


@dataclass
class PersonData:
    """What a client may set on a person; ``None`` in an update means "leave as is"."""

    code: str | None = None
    name: str | None = None
    phone: str | None = None
    extensions: list[str] | None = None
    email: str | None = None
    card_number: str | None = None
    cpf: str | None = None
    active: bool | None = None
    notifications_opt_out: bool | None = None


def _clean(data: PersonData) -> PersonData:
    try:
        if data.phone:
            data.phone = normalize_phone(data.phone)
    except InvalidIdentifier as exc:
        raise Invalid(f"phone: {exc}", field="phone") from None
    try:
        if data.cpf:
            data.cpf = normalize_cpf(data.cpf)
    except InvalidIdentifier as exc:
        raise Invalid(f"cpf: {exc}", field="cpf") from None
    if data.email:
        try:
            data.email = validate_email(data.email, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise Invalid(f"email: {exc}", field="email") from None
    if data.extensions is not None:
        data.extensions = list(dict.fromkeys(e.strip() for e in data.extensions if e.strip()))
    for name in ("phone", "email", "card_number", "cpf"):
        if getattr(data, name) == "":
            setattr(data, name, None)
    return data


def _apply(person: Person, data: PersonData) -> None:
    for name in (
        *("code", "name", "phone", "email", "card_number", "cpf", "active"),
        "notifications_opt_out",
    ):
        value = getattr(data, name)
        if value is not None:
            setattr(person, name, value)
    if data.extensions is not None:
        current = {e.extension: e for e in person.extensions}
        person.extensions = [
            current.get(x) or PersonExtension(extension=x) for x in data.extensions
        ]


def _check_extensions_free(session: Session, person: Person) -> None:
    """Two active people never share an extension: caller id would no longer say who calls.
    Run inside the transaction that saves ``person``, after its changes."""
    if not person.active or not person.extensions:
        return
    session.flush()
    taken = session.execute(
        select(PersonExtension.extension, Person.code)
        .join(Person)
        .where(
            PersonExtension.extension.in_([e.extension for e in person.extensions]),
            Person.active.is_(True),
            Person.id != person.id,
        )
        .order_by(PersonExtension.extension)
        .limit(1)
    ).first()
    if taken is not None:
        extension, code = taken
        raise Conflict(
            f"extension {extension} already belongs to person {code}",
            field="extensions",
            details={"extension": extension, "code": code},
        )


def _by_code(session: Session, code: str) -> Person:
    person = session.scalar(select(Person).where(Person.code == code))
    if person is None:
        raise NotFound(f"no person with code {code}", field="code")
    return person


@dataclass
class RejectedRow:
    """A line of an imported file that was not imported, and why."""

    line: int
    error: ServiceError


@dataclass
class ImportResult:
    """What an import did: how many people it created and updated, which lines went in."""

    created: int = 0
    updated: int = 0
    imported_lines: list[int] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)


class PeopleService:
    def __init__(self, runtime: Runtime) -> None:
        self.sessions = runtime.sessions
        self.reads = runtime.reads

    def create(self, data: PersonData) -> PersonView:
        data = _clean(data)
        if not data.code or not data.name:
            raise Invalid("code and name are required", field="code" if not data.code else "name")
        try:
            with self.sessions.begin() as session:
                person = Person(active=True if data.active is None else data.active)
                _apply(person, data)
                session.add(person)
                _check_extensions_free(session, person)
                session.flush()
                view = PersonView.of(person)
            return view
        except IntegrityError:
            raise self._conflict(data, own_code=None) from None

    def _conflict(self, data: PersonData, own_code: str | None) -> Conflict:
        """Which unique value of ``data`` another person already holds."""
        with self.reads() as session:
            for name in UNIQUE_FIELDS:
                value = getattr(data, name)
                if value is None or (name == "code" and value == own_code):
                    continue
                query = select(Person.code).where(getattr(Person, name) == value)
                if any(code != own_code for code in session.scalars(query)):
                    return Conflict(f"another person has this {name}", field=name)
        return Conflict("another person has one of these values", field="code")

    def get(self, code: str) -> PersonView:
        with self.reads() as session:
            found = read_people(session.connection(), {"code": code})
        if not found:
            raise NotFound(f"no person with code {code}", field="code")
        return found[0]

    def find(
        self,
        *,
        card_number: str | None = None,
        phone: str | None = None,
        extension: str | None = None,
        cpf: str | None = None,
        active_only: bool = False,
    ) -> list[PersonView]:
        matches = {"card_number": card_number, "cpf": cpf, "extension": extension}
        if phone:
            try:
                matches["phone"] = normalize_phone(phone)
            except InvalidIdentifier:
                return []
        given = {name: value for name, value in matches.items() if value}
        with self.reads() as session:
            return read_people(session.connection(), given, active_only)

    def update(self, code: str, data: PersonData) -> PersonView:
        data = _clean(data)
        try:
            with self.sessions.begin() as session:
                person = _by_code(session, code)
                _apply(person, data)
                if data.extensions is not None or data.active:
                    _check_extensions_free(session, person)
                session.flush()
                view = PersonView.of(person)
            return view
        except IntegrityError:
            raise self._conflict(data, own_code=code) from None

    def import_csv(self, raw: bytes) -> ImportResult:
        """Create or update people from the rows of a CSV file as a spreadsheet saves it
        (UTF-8 or Windows-1252, ``,`` or ``;``; see :mod:`atende.services.spreadsheets`).

        Columns: code, name, phone, extensions (separated by spaces or ``;``), email,
        card_number, cpf. A bad row is reported with its line number and skipped; the rest go
        in. A file that cannot be read, or whose header lacks code and name, raises Invalid.
        """
        columns, rows = spreadsheets.read_rows(raw)
        if not {"code", "name"} <= set(columns):
            raise Invalid(
                f"the first line must name the columns, code and name at least; it has: "
                f"{', '.join(columns) or 'nothing'}",
                field="columns",
            )
        result = ImportResult()
        for line, row in enumerate(rows, start=2):
            data = PersonData(
                code=row.get("code", "").strip() or None,
                name=row.get("name", "").strip() or None,
                phone=row.get("phone", "").strip(),
                extensions=_split_extensions(row.get("extensions", "")),
                email=row.get("email", "").strip(),
                card_number=row.get("card_number", "").strip(),
                cpf=row.get("cpf", "").strip(),
            )
            try:
                try:
                    self.update(data.code or "", data)
                    result.updated += 1
                except NotFound:
                    self.create(data)
                    result.created += 1
            except (Invalid, Conflict) as exc:
                result.rejected.append(RejectedRow(line, exc))
            else:
                result.imported_lines.append(line)
        return result


def _split_extensions(raw: str) -> list[str]:
    return [p for p in raw.replace(";", " ").split() if p]


def sole_active_person(people: Iterable[PersonView]) -> PersonView | None:
    """The one active person among ``people``, or None when there is none or several (an
    extension, a phone or a card number that is shared cannot say who calls)."""
    active = [p for p in people if p.active]
    return active[0] if len(active) == 1 else None
