"""Status-change notifications: queued with the change, through the API, delivered later."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import select

from atende.bootstrap import build_messenger
from atende.db.models import Message, Person, Ticket
from atende.domain.ticket_status import TicketStatus
from atende.services.bundle import Services
from atende.services.errors import Conflict
from atende.services.people import PersonData
from atende.services.tickets import NewTicket

PHONE = "+5545999991234"


def open_ticket(services: Services, **person: object) -> Ticket:
    data = {"code": "1234", "name": "Maria da Silva", "phone": PHONE, **person}
    services.people.create(PersonData(**data))  # type: ignore[arg-type]
    ticket, _ = services.tickets.open(NewTicket(person_code="1234", item_id=1), "tests")
    return ticket


def messages(services: Services) -> list[Message]:
    with services.runtime.sessions() as session:
        return list(session.scalars(select(Message).order_by(Message.id)))


def test_a_status_change_queues_a_message_for_the_ticket(services: Services) -> None:
    ticket = open_ticket(services)

    services.tickets.change(ticket.protocol, actor="carlos", status=TicketStatus.IN_PROGRESS)

    (row,) = messages(services)
    assert (row.kind, row.status, row.ticket_id) == ("status_change", "queued", ticket.id)
    assert ticket.protocol in row.text
    assert "em atendimento" in row.text
    assert row.template == "status_change_message"
    assert row.template_fields == {
        "item": ticket.item.name,
        "protocol": ticket.protocol,
        "status": "em atendimento",
    }
    assert PHONE not in row.recipient and row.recipient.endswith("34")
    assert row.channel == "outbox"


def test_notes_and_assignees_alone_notify_nobody(services: Services) -> None:
    ticket = open_ticket(services)

    services.tickets.change(ticket.protocol, actor="carlos", note="olhando")
    services.tickets.change(ticket.protocol, actor="carlos", assignee="Carlos")

    assert messages(services) == []


def test_a_refused_change_queues_nothing(services: Services) -> None:
    ticket = open_ticket(services)

    with pytest.raises(Conflict):
        services.tickets.change(ticket.protocol, actor="carlos", status=TicketStatus.CLOSED)

    assert messages(services) == []


@pytest.mark.parametrize(
    "person",
    [
        {"notifications_opt_out": True},
        {"phone": None},
    ],
    ids=["opted-out", "no-address"],
)
def test_people_who_opted_out_or_have_no_address_get_nothing(
    services: Services, person: dict[str, object]
) -> None:
    ticket = open_ticket(services)
    with services.runtime.sessions.begin() as session:
        row = session.scalar(select(Person).where(Person.code == "1234"))
        assert row is not None
        for name, value in person.items():
            setattr(row, name, value)

    moved = services.tickets.change(ticket.protocol, actor="carlos", status=TicketStatus.WAITING)

    assert moved.status == "waiting"  # the change itself is not held up
    assert messages(services) == []


def test_an_e_mail_address_is_used_when_there_is_no_phone(services: Services) -> None:
    ticket = open_ticket(services, phone=None, email="maria@example.com")

    services.tickets.change(ticket.protocol, actor="carlos", status=TicketStatus.CANCELLED)

    (row,) = messages(services)
    assert row.recipient.endswith("om") and "maria" not in row.recipient
    assert "cancelado" in row.text


def test_a_change_through_the_api_reaches_the_requester(
    make_services: Callable[..., Services],
) -> None:
    from api_client import api_client

    services = make_services()
    ticket = open_ticket(services)
    with api_client(services) as api:
        response = api.patch(
            f"/api/v1/tickets/{ticket.protocol}", json={"status": "in_progress", "note": "indo"}
        )
        assert response.status_code == 200, response.text
    sender = build_messenger(services.runtime.settings, services.runtime.sessions)

    assert asyncio.run(sender.deliver_due()) == 1

    outbox = services.runtime.settings.data_dir / "outbox.jsonl"
    (line,) = [json.loads(x) for x in outbox.read_text().splitlines()]
    assert line["to"] == PHONE
    assert line["kind"] == "status_change"
    assert f"protocolo {ticket.protocol}, agora está em atendimento" in line["text"]
    (row,) = messages(services)
    assert (row.status, row.provider_id) == ("sent", line["id"])


def test_opting_out_through_the_api(api: httpx.Client, services: Services) -> None:
    created = api.post(
        "/api/v1/people",
        json={"code": "77", "name": "Ana", "phone": "45999990077", "notifications_opt_out": True},
    )
    assert created.status_code == 201, created.text
    assert created.json()["notifications_opt_out"] is True
    back_in = api.patch("/api/v1/people/77", json={"notifications_opt_out": False})
    assert back_in.json()["notifications_opt_out"] is False
    ticket, _ = services.tickets.open(NewTicket(person_code="77", item_id=1), "tests")

    services.tickets.change(ticket.protocol, actor="carlos", status=TicketStatus.IN_PROGRESS)

    assert [row.kind for row in messages(services)] == ["status_change"]
