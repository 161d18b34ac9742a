"""Demo people so that a newcomer can call the URA in the terminal within a minute.

Their codes, extensions and phones are in the README; ``atende serve`` on embedded defaults
adds them to an empty directory, ``atende demo`` adds them anywhere.
"""

from __future__ import annotations

from atende.services.errors import Conflict
from atende.services.people import PeopleService, PersonData

DEMO_PEOPLE = (
    PersonData(
        code="1001",
        name="Maria da Silva",
        phone="(45) 99999-0001",
        extensions=["2001"],
        email="maria@example.org",
    ),
    PersonData(code="1002", name="João Pereira", phone="(45) 99999-0002", extensions=["2002"]),
    PersonData(
        code="1003",
        name="Ana Souza",
        phone="(41) 98888-0003",
        card_number="0001234500013",
        cpf="529.982.247-25",
    ),
)


def load_demo_people(people: PeopleService) -> int:
    """Add the demo people that are not there yet; returns how many were added."""
    added = 0
    for person in DEMO_PEOPLE:
        try:
            people.create(PersonData(**vars(person)))
            added += 1
        except Conflict:
            continue
    return added
