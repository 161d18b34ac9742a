"""/api/v1/people: the callers' directory."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, status

from atende.api.deps import Reader, ServicesDep, Writer
from atende.api.responses import error_responses
from atende.api.schemas import PersonIn, PersonOut, PersonPatch
from atende.services.errors import Invalid
from atende.services.people import PersonData

router = APIRouter(prefix="/people", tags=["people"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PersonOut,
    responses=error_responses(409),
)
def create_person(body: PersonIn, services: ServicesDep, _: Writer) -> PersonOut:
    return PersonOut.model_validate(services.people.create(PersonData(**body.model_dump())))


@router.get("", response_model=list[PersonOut], summary="Look people up")
def find_people(
    services: ServicesDep,
    _: Reader,
    card_number: str | None = Query(None, examples=["0001234500012"]),
    phone: str | None = Query(None, examples=["+5545999991234"]),
    extension: str | None = Query(None, examples=["2201"]),
) -> list[PersonOut]:
    if not (card_number or phone or extension):
        raise Invalid("give card_number, phone or extension", field="card_number")
    found = services.people.find(card_number=card_number, phone=phone, extension=extension)
    return [PersonOut.model_validate(p) for p in found]


@router.get("/{code}", response_model=PersonOut)
def read_person(code: str, services: ServicesDep, _: Reader) -> PersonOut:
    return PersonOut.model_validate(services.people.get(code))


@router.patch("/{code}", response_model=PersonOut, responses=error_responses(409))
def update_person(code: str, body: PersonPatch, services: ServicesDep, _: Writer) -> PersonOut:
    data = PersonData(**body.model_dump(exclude_unset=True))
    return PersonOut.model_validate(services.people.update(code, data))


@router.delete("/{code}", status_code=status.HTTP_204_NO_CONTENT, summary="Deactivate a person")
def deactivate_person(code: str, services: ServicesDep, _: Writer) -> Response:
    services.people.update(code, PersonData(active=False))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
