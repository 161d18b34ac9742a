"""The plain values the people, catalog, token, user, ticket and call services hand out, read
from rows that never saw a database: what a view holds, what it keeps out of logs, and the pure
rules that now work on views."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from atende.db.models import (
    ApiToken,
    Call,
    CallEvent,
    Category,
    Item,
    Person,
    PersonExtension,
    Ticket,
    TicketEvent,
    User,
)
from atende.services.calls import CallEventView, CallView
from atende.services.catalog import CategoryView, ItemView
from atende.services.people import PersonView, sole_active_person
from atende.services.tickets import TicketCategory, TicketEventView, TicketItem, TicketView
from atende.services.tokens import TokenView, grants
from atende.services.users import SignedIn, UserView

NOW = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)


def person(id: int, active: bool = True, extensions: tuple[str, ...] = ()) -> Person:
    return Person(
        id=id,
        code=f"10{id:02}",
        name="Ana Souza",
        phone="+5545999990001",
        email="ana@example.org",
        card_number="0001234500013",
        cpf="52998224725",
        active=active,
        notifications_opt_out=False,
        extensions=[PersonExtension(extension=x) for x in extensions],
    )


def test_a_person_view_carries_every_field_the_api_shows() -> None:
    view = PersonView.of(person(1, extensions=("2001", "2002")))

    assert view == PersonView(
        id=1,
        code="1001",
        name="Ana Souza",
        phone="+5545999990001",
        email="ana@example.org",
        card_number="0001234500013",
        cpf="52998224725",
        extensions=("2001", "2002"),
        active=True,
        notifications_opt_out=False,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.name = "Outra"  # type: ignore[misc]


def test_a_person_view_in_a_log_line_shows_no_personal_data() -> None:
    shown = repr(PersonView.of(person(1, extensions=("2001",))))

    assert shown == "PersonView(id=1, active=True, notifications_opt_out=False)"
    for value in ("1001", "Ana", "99999", "example.org", "00012345", "529982", "2001"):
        assert value not in shown


def test_the_sole_active_person_among_views() -> None:
    ana, inactive, other = (PersonView.of(person(n, n != 2)) for n in (1, 2, 3))

    assert sole_active_person([ana, inactive]) == ana
    assert sole_active_person([ana, other]) is None  # shared: cannot say who calls
    assert sole_active_person([inactive]) is None
    assert sole_active_person([]) is None


def test_a_category_view_holds_its_items_in_key_order_as_a_tuple() -> None:
    printers = Category(id=3, key="3", name="Impressoras", prompt="impressoras")
    printers.items = [
        Item(id=7, key="1", name="Não imprime", prompt="não imprime"),
        Item(id=8, key="2", name="Sem toner", prompt="toner"),
    ]

    assert CategoryView.of(printers) == CategoryView(
        id=3,
        key="3",
        name="Impressoras",
        prompt="impressoras",
        items=(
            ItemView(id=7, key="1", name="Não imprime", prompt="não imprime"),
            ItemView(id=8, key="2", name="Sem toner", prompt="toner"),
        ),
    )


def test_a_token_view_has_no_hash_and_its_scopes_grant_as_a_list_did() -> None:
    row = ApiToken(
        id=4,
        name="glpi",
        token_hash="ab" * 32,
        scopes=["write"],
        allow=["10.0.0.0/8"],
        created_at=NOW,
    )
    view = TokenView.of(row)

    assert view == TokenView(4, "glpi", ("write",), ("10.0.0.0/8",), NOW, None, None)
    assert "token_hash" not in {f.name for f in dataclasses.fields(TokenView)}
    assert grants(view.scopes, "read") and grants(view.scopes, "write")
    assert not grants(view.scopes, "admin")


def test_a_user_view_has_no_password_hash_and_says_who_is_an_admin() -> None:
    row = User(
        id=2,
        username="ana",
        name="Ana Souza",
        password_hash="$argon2id$...",
        role="admin",
        active=True,
        created_at=NOW,
    )
    view = UserView.of(row)

    assert view == UserView(2, "ana", "Ana Souza", "admin", True, NOW, None)
    assert "password_hash" not in {f.name for f in dataclasses.fields(UserView)}
    assert SignedIn(view, "csrf", 9).is_admin
    assert not SignedIn(dataclasses.replace(view, role="technician"), "csrf", 9).is_admin


# A ticket's own columns, as its row and its view hold them.
TICKET: dict[str, Any] = {
    "id": 41,
    "protocol": "20250310000041",
    "description": "A impressora da Ana trava",
    "channel": "phone",
    "status": "in_progress",
    "assignee": "Carlos",
    "call_id": 9,
    "created_at": NOW,
    "updated_at": NOW,
}


def ticket_row() -> Ticket:
    printers = Category(id=3, key="3", name="Impressoras", prompt="impressoras")
    jam = Item(id=7, key="1", name="Papel preso", prompt="papel preso", category=printers)
    row = Ticket(**TICKET, person=person(1), item=jam)
    row.history = [
        TicketEvent(at=NOW, actor="ura", from_status=None, to_status="open", note="opened"),
        TicketEvent(
            at=NOW, actor="carlos", from_status="open", to_status="in_progress", note="CPF 529"
        ),
    ]
    return row


def test_a_ticket_view_carries_its_person_item_and_history_as_plain_values() -> None:
    view = TicketView.of(ticket_row())

    assert view == TicketView(
        **TICKET,
        person=PersonView.of(person(1)),
        item=TicketItem(7, "Papel preso", TicketCategory(3, "Impressoras")),
        history=(
            TicketEventView(NOW, "ura", None, "open", "opened"),
            TicketEventView(NOW, "carlos", "open", "in_progress", "CPF 529"),
        ),
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.status = "closed"  # type: ignore[misc]


def test_a_ticket_view_in_a_log_line_shows_neither_the_requester_nor_what_they_wrote() -> None:
    shown = repr(TicketView.of(ticket_row()))

    assert "20250310000041" in shown and "in_progress" in shown
    for value in ("1001", "Ana", "99999", "529982", "impressora da", "CPF 529"):
        assert value not in shown


def test_a_call_view_holds_its_steps_in_order_with_copies_of_their_details() -> None:
    fields: dict[str, Any] = {
        "id": 5,
        "uniqueid": "1795228819.5",
        "caller_id": "+5545999990001",
        "channel": "PJSIP/2001-00000001",
        "person_id": 1,
        "started_at": NOW,
        "outcome": "transferred",
        "last_step": "transfer",
        "survey_score": 4,
        "flow_name": "ti",
        "flow_version": 2,
    }
    detail: dict[str, object] = {"key": "1"}
    events = [
        CallEvent(seq=1, at=NOW, step="greeting", detail={}),
        CallEvent(seq=2, at=NOW, step="main_menu", detail=detail),
    ]
    view = CallView.of(Call(**fields, events=events))
    detail["key"] = "9"  # the row changes after the view was read

    assert view == CallView(
        **fields,
        ended_at=None,
        events=(
            CallEventView(1, NOW, "greeting", {}),
            CallEventView(2, NOW, "main_menu", {"key": "1"}),
        ),
    )
    assert "99999" not in repr(view) and "2001" not in repr(view)
