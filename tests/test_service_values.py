"""The people, catalog, token, user, ticket and call services (and the dashboard's queries) hand
out plain frozen values, read inside their own session: no ORM row reaches the engine, the API,
the dashboard or the CLI (a row read after its session closed is stale at best, a lazy load on a
closed session at worst)."""

from __future__ import annotations

import dataclasses
from typing import TypeVar

from atende.db.models import Base
from atende.domain.ticket_status import TicketStatus
from atende.services.bundle import Services
from atende.services.calls import Ended, Identified, NewCall, Outcome, StepRecord
from atende.services.catalog import CategoryView, ItemView
from atende.services.people import PersonData, PersonView
from atende.services.tickets import NewTicket, TicketEventView, TicketFilter, TicketItem
from atende.services.tokens import TokenView
from atende.services.users import SignedIn, UserView
from atende.web.queries import CallQuery, TicketQuery, call_with_tickets, ticket_call

PASSWORD = "uma-senha-boa-1"
T = TypeVar("T")


def plain(value: T) -> T:
    """``value``, after checking that nothing in it is an ORM row and every dataclass in it
    is frozen."""
    assert not isinstance(value, Base), f"an ORM row: {type(value).__name__}"
    if dataclasses.is_dataclass(value):
        assert type(value).__dataclass_params__.frozen, type(value).__name__  # type: ignore[attr-defined]
        for field in dataclasses.fields(value):
            plain(getattr(value, field.name))
    elif isinstance(value, list | tuple):
        for element in value:
            plain(element)
    return value


def test_people_come_back_as_views_of_what_was_saved(services: Services) -> None:
    people = services.people
    created = plain(
        people.create(
            PersonData(code="3001", name="Rita Lopes", phone="45 99999-3001", extensions=["2301"])
        )
    )
    assert isinstance(created, PersonView) and created.id > 0
    assert created.phone == "+5545999993001" and created.extensions == ("2301",)
    assert created.active

    updated = plain(people.update("3001", PersonData(extensions=["2302", "2303"], active=False)))
    assert updated == dataclasses.replace(created, extensions=("2302", "2303"), active=False)
    assert plain(people.get("3001")) == updated
    assert plain(people.find(extension="2303")) == [updated]
    assert people.find(extension="2303", active_only=True) == []


def test_the_catalog_comes_back_as_a_tree_of_views(services: Services) -> None:
    catalog = services.catalog
    tree = plain(catalog.tree())
    assert all(isinstance(c, CategoryView) for c in tree) and tree[0].items
    assert [c.key for c in tree] == sorted(c.key for c in tree)

    phones = plain(catalog.add_category("8", "Telefonia", None))
    assert phones == CategoryView(phones.id, "8", "Telefonia", "Telefonia", ())
    first = plain(catalog.add_item(phones.id, "1", "Linha muda"))
    second = catalog.add_item(phones.id, "2", "Sem tom", "sem tom de discagem")
    assert first == ItemView(first.id, "1", "Linha muda", "Linha muda")
    assert plain(catalog.category(phones.id)).items == (first, second)

    moved = plain(catalog.move_item(first.id, "2"))
    assert moved == dataclasses.replace(first, key="2")
    assert catalog.item(second.id).key == "1"
    renamed = plain(catalog.update_item(second.id, key=None, name="Sem linha", prompt=None))
    assert renamed == dataclasses.replace(second, key="1", name="Sem linha")
    assert plain(catalog.category(phones.id)).items == (renamed, moved)

    held = tree[0]
    swapped = plain(catalog.move_category(phones.id, held.key))
    assert (swapped.key, swapped.items) == (held.key, (renamed, moved))
    assert catalog.category(held.id).key == "8"
    edited = plain(catalog.update_category(phones.id, key=None, name="Telefones", prompt="fone"))
    assert edited == dataclasses.replace(swapped, name="Telefones", prompt="fone")


def test_tokens_come_back_as_views_without_their_hash(services: Services) -> None:
    tokens = services.tokens
    created, clear = tokens.create("glpi", ["write"], ["10.0.0.0/8"])
    assert plain(created) == TokenView(
        created.id, "glpi", ("write",), ("10.0.0.0/8",), created.created_at, None, None
    )
    assert plain(tokens.list()) == [created]
    assert plain(tokens.find("glpi")) == created == tokens.find(str(created.id))

    check = plain(tokens.check(clear, "10.1.2.3"))
    assert check.token == created  # as read before this first use was recorded
    assert tokens.list()[0].last_used_at is not None
    assert tokens.check(clear, "192.168.0.1").token is None


def test_members_come_back_as_views_without_their_password(services: Services) -> None:
    users = services.users
    created = plain(users.create(" Tiago ", "Tiago Alves", PASSWORD, "technician"))
    assert created == UserView(
        created.id, "tiago", "Tiago Alves", "technician", True, created.created_at, None
    )
    assert plain(users.list()) == [created]
    assert plain(users.get(created.id)) == created == users.by_username("TIAGO")

    signed = plain(users.authenticate("tiago", PASSWORD))
    assert signed == created
    assert users.get(created.id).last_login_at is not None
    clear, session = users.start_session(created)
    assert plain(session) == SignedIn(created, session.csrf_token, session.session_id)
    resumed = plain(users.resume(clear))
    assert isinstance(resumed, SignedIn) and resumed.user.last_login_at is not None

    promoted = plain(users.update(created.id, role="admin"))
    assert (promoted.role, promoted.active) == ("admin", True)
    assert users.authenticate("tiago", "senha-errada-1") is None


def test_tickets_come_back_as_views_of_what_was_saved(services: Services) -> None:
    tickets = services.tickets
    person = rita(services)
    item = services.catalog.tree()[0].items[0]
    opened, created = tickets.open(
        NewTicket(person.code, item.id, "Sem rede", idempotency_key="k-1"), actor="api:erp"
    )
    assert created and plain(opened).person == person
    assert opened.item == TicketItem(item.id, item.name, opened.item.category)
    assert [e.note for e in opened.history] == ["opened"]
    assert plain(tickets.get(opened.protocol)) == opened
    again, created = tickets.open(
        NewTicket(person.code, item.id, "Sem rede", idempotency_key="k-1"), actor="api:erp"
    )
    assert (plain(again), created) == (opened, False)

    moved = plain(tickets.change(opened.protocol, actor="carlos", status=TicketStatus.IN_PROGRESS))
    assert (moved.status, len(moved.history)) == ("in_progress", 2)
    assert moved.history[0] == opened.history[0]
    assert moved.history[1] == TicketEventView(
        moved.history[1].at, "carlos", "open", "in_progress", ""
    )
    assert plain(tickets.find_for_person(opened.protocol, person.code)) == moved
    assert tickets.find_for_person(opened.protocol, "9999") is None
    page, cursor = tickets.list(TicketFilter(person_code=person.code))
    assert (plain(page), cursor) == ([moved], None)


def test_calls_come_back_as_views_with_their_steps(services: Services) -> None:
    calls = services.calls
    call = NewCall("1795228819.7", "2001", "SIP/2001-7", flow=("ti", 1))
    call_id = calls.begin(call)
    started = plain(calls.get(call.uniqueid))
    assert (started.id, started.flow_name, started.flow_version) == (call_id, "ti", 1)
    assert started.events == () and started.ended_at is None
    assert calls.begin(call) == call_id  # AGI() twice

    at = started.started_at
    changes = [
        StepRecord("greeting", at),
        StepRecord("main_menu", at),
        Ended(Outcome.ABANDONED, at),
    ]
    calls.record_many([(call_id, change) for change in changes])
    ended = plain(calls.get(started.uniqueid))
    assert [(e.seq, e.step) for e in ended.events] == [(1, "greeting"), (2, "main_menu")]
    assert (ended.outcome, ended.last_step) == ("abandoned", "main_menu")
    assert plain(calls.list(outcome=Outcome.ABANDONED)) == [ended]

    reports = services.reports
    assert plain(reports._calls(reports.last_days(1))) == [ended]
    assert reports.give_ups(reports.last_days(1))[0].label == "main_menu"


def test_the_dashboard_queries_read_views_too(services: Services) -> None:
    runtime = services.runtime
    person = rita(services)
    call_id = services.calls.begin(NewCall("1795228819.8", "2001", "SIP/2001-8"))
    services.calls.record_many([(call_id, Identified(person.id))])
    call = services.calls.get("1795228819.8")
    ticket, _ = services.tickets.open(NewTicket(person.code, 1, call_id=call.id), actor="ura")

    assert plain(TicketQuery().run(runtime)) == [ticket]
    assert plain(ticket_call(runtime, ticket.call_id)) == call
    assert call.person_id == person.id
    assert plain(CallQuery().run(runtime)) == [(ticket_call(runtime, call.id), person)]
    assert plain(call_with_tickets(runtime, call.uniqueid)) == (
        ticket_call(runtime, call.id),
        person,
        [ticket],
    )


def rita(services: Services) -> PersonView:
    """A new person, Rita, as the people service hands her out."""
    return services.people.create(PersonData(code="3002", name="Rita Lopes", phone="45999993002"))
