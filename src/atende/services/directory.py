"""Who is calling: a person by code, card number, phone or extension, through the directory port.

With an external directory (``ATENDE_DIRECTORY``) the answer is copied into our ``people``
table (tickets point at a local row; the directory stays the source of truth and is asked again
at every call). When the directory is down, people who called before are still found in that
copy. With none, our own table answers.
"""

from __future__ import annotations

import asyncio
import logging

from atende.connectors.ports import (
    ConnectorError,
    Directory,
    DirectoryEntry,
    LookupField,
    NotSupported,
)
from atende.domain.identity import mask
from atende.services.errors import Conflict, Invalid, NotFound
from atende.services.people import PeopleService, PersonData, PersonView, sole_active_person

log = logging.getLogger(__name__)


class DirectoryService:
    def __init__(self, people: PeopleService, directory: Directory | None) -> None:
        self.people = people
        self.directory = directory

    @property
    def kind(self) -> str:
        return self.directory.name if self.directory is not None else "builtin"

    async def identify(self, field: LookupField, value: str) -> PersonView | None:
        """The active person ``field`` = ``value`` is, or None."""
        if self.directory is not None:
            try:
                entry = await self.directory.find(field, value)
            except NotSupported:
                pass  # this directory cannot look people up by that field: ours can
            except ConnectorError as exc:
                log.warning("directory %s: %s; looking in the local copy", self.directory.name, exc)
            else:
                if entry is None:
                    return None
                return await asyncio.to_thread(self.copy_locally, entry)
        return await asyncio.to_thread(self.local_person, field, value)

    def local_person(self, field: LookupField, value: str) -> PersonView | None:
        if field == "code":
            try:
                person = self.people.get(value)
            except NotFound:
                return None
            return person if person.active else None
        return sole_active_person(self.people.find(**{field: value}, active_only=True))

    def copy_locally(self, entry: DirectoryEntry) -> PersonView | None:
        """Create or refresh our copy of a directory's person (whose deactivation here wins)."""
        full = PersonData(
            code=entry.code,
            name=entry.name,
            phone=entry.phone or "",
            email=entry.email or "",
            card_number=entry.card_number or "",
        )
        for data in (full, PersonData(code=entry.code, name=entry.name)):
            try:
                person = self._upsert(data)
            except (Invalid, Conflict) as exc:
                # A phone we cannot parse, a card number another local person holds: keep
                # the name, which the call needs, and say what was left out.
                log.warning("directory person %s: %s", mask(entry.code), exc.message)
                continue
            return person if person.active else None
        return None

    def _upsert(self, data: PersonData) -> PersonView:
        code = data.code or ""
        try:
            return self.people.update(code, data)
        except NotFound:
            pass
        try:
            return self.people.create(data)
        except Conflict:  # created meanwhile by another call of the same person
            return self.people.update(code, data)

    async def close(self) -> None:
        if self.directory is not None:
            await self.directory.close()
