"""People who call: create, find (by code, card, phone, extension), update, deactivate, import."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from atende.db.models import Person, PersonExtension
from atende.domain.identity import InvalidIdentifier, normalize_cpf, normalize_phone
from atende.runtime import Runtime
from atende.services.errors import Conflict, Invalid, NotFound

UNIQUE_FIELDS = ("code", "card_number", "cpf")


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


class PeopleService:
    def __init__(self, runtime: Runtime) -> None:
        self.sessions = runtime.sessions

    def create(self, data: PersonData) -> Person:
        data = _clean(data)
        if not data.code or not data.name:
            raise Invalid("code and name are required", field="code" if not data.code else "name")
        try:
            with self.sessions.begin() as session:
                person = Person(active=True if data.active is None else data.active)
                _apply(person, data)
                session.add(person)
            return person
        except IntegrityError:
            raise self._conflict(data, own_code=None) from None

    def _conflict(self, data: PersonData, own_code: str | None) -> Conflict:
        """Which unique value of ``data`` another person already holds."""
        with self.sessions() as session:
            for name in UNIQUE_FIELDS:
                value = getattr(data, name)
                if value is None or (name == "code" and value == own_code):
                    continue
                query = select(Person.code).where(getattr(Person, name) == value)
                if any(code != own_code for code in session.scalars(query)):
                    return Conflict(f"another person has this {name}", field=name)
        return Conflict("another person has one of these values", field="code")

    def get(self, code: str) -> Person:
        with self.sessions() as session:
            person = session.scalar(select(Person).where(Person.code == code))
            if person is None:
                raise NotFound(f"no person with code {code}", field="code")
            return person

    def find(
        self,
        *,
        card_number: str | None = None,
        phone: str | None = None,
        extension: str | None = None,
        active_only: bool = False,
    ) -> list[Person]:
        query = select(Person).order_by(Person.id)
        if card_number:
            query = query.where(Person.card_number == card_number)
        if phone:
            try:
                query = query.where(Person.phone == normalize_phone(phone))
            except InvalidIdentifier:
                return []
        if extension:
            query = query.join(PersonExtension).where(PersonExtension.extension == extension)
        if active_only:
            query = query.where(Person.active.is_(True))
        with self.sessions() as session:
            return list(session.scalars(query).unique())

    def update(self, code: str, data: PersonData) -> Person:
        data = _clean(data)
        try:
            with self.sessions.begin() as session:
                person = session.scalar(select(Person).where(Person.code == code))
                if person is None:
                    raise NotFound(f"no person with code {code}", field="code")
                _apply(person, data)
            return person
        except IntegrityError:
            raise self._conflict(data, own_code=code) from None

    def import_csv(self, stream: IO[str]) -> tuple[int, int, list[str]]:
        """Create or update people from CSV rows; returns (created, updated, errors by line).

        Columns: code, name, phone, extensions (separated by spaces or ``;``), email,
        card_number, cpf. A bad row is reported with its line number and skipped; the rest go in.
        """
        created = updated = 0
        errors: list[str] = []
        for line, row in enumerate(csv.DictReader(stream), start=2):
            data = PersonData(
                code=(row.get("code") or "").strip() or None,
                name=(row.get("name") or "").strip() or None,
                phone=(row.get("phone") or "").strip(),
                extensions=_split_extensions(row.get("extensions") or ""),
                email=(row.get("email") or "").strip(),
                card_number=(row.get("card_number") or "").strip(),
                cpf=(row.get("cpf") or "").strip(),
            )
            try:
                try:
                    self.update(data.code or "", data)
                    updated += 1
                except NotFound:
                    self.create(data)
                    created += 1
            except (Invalid, Conflict) as exc:
                errors.append(f"line {line}: {exc.message}")
        return created, updated, errors


def _split_extensions(raw: str) -> list[str]:
    return [p for p in raw.replace(";", " ").split() if p]


def sole_active_person(people: Iterable[Person]) -> Person | None:
    """The one active person among ``people``, or None when there is none or several (an
    extension, a phone or a card number that is shared cannot say who calls)."""
    active = [p for p in people if p.active]
    return active[0] if len(active) == 1 else None
