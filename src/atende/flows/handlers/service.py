"""Nodes of the service itself: choose_service, open_ticket, ticket_status, record_message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from atende.agi.errors import CallerGone
from atende.flows.call import Sound
from atende.flows.nodes import ChooseService, OpenTicket, RecordMessage, TicketStatus
from atende.flows.ports import NewTicket, PortUnavailable, TicketStatusView
from atende.flows.run import Menu, Run, handles
from atende.speech.numbers import date_for_speech


class _Entry(Protocol):
    """A catalog category or item as a menu line."""

    @property
    def key(self) -> str: ...

    @property
    def prompt(self) -> str: ...


def _menu(
    run: Run, intro: Sequence[Sound], entries: Sequence[_Entry], repeat: str, tries: int
) -> Menu:
    lines = [run.text("menu_option", label=entry.prompt, key=entry.key) for entry in entries]
    return Menu(
        [*intro, *lines, run.text("menu_repeat", key=repeat)],
        "".join(entry.key for entry in entries),
        repeat,
        tries,
        invalid=[run.text("invalid_option")],
        no_input=[run.text("no_option")],
    )


@handles(ChooseService)
async def choose_service(run: Run, node: ChooseService) -> str:
    """A category (skipped when the node names a branch), then an item (skipped when the
    category has only one); categories without items are not offered."""
    tree = [c for c in await run.waiting(run.ports.catalog.tree()) if c.items]
    if node.branch is not None:
        tree = [c for c in tree if c.key == node.branch]
    if not tree:
        run.step(result="empty_catalog")
        return await run.give_up(node.failure, "failed")
    category = tree[0] if len(tree) == 1 else None
    if category is None:
        intro = run.speech(node.category_prompt)
        key = await run.choose(_menu(run, intro, tree, node.category_repeat_key, node.tries))
        if key is None:
            return await run.give_up(node.failure, "no_input")
        run.step(category=key)
        category = next(c for c in tree if c.key == key)
    item = category.items[0] if len(category.items) == 1 else None
    if item is None:
        intro = run.speech(node.item_prompt, category=category.prompt)
        choice = _menu(run, intro, category.items, node.item_repeat_key, node.tries)
        key = await run.choose(choice)
        if key is None:
            return await run.give_up(node.failure, "no_input")
        run.step(item=key)
        item = next(i for i in category.items if i.key == key)
    run.category, run.item = category, item
    return node.next


@handles(OpenTicket)
async def open_ticket(run: Run, node: OpenTicket) -> str:
    """Open the ticket; its protocol message is queued by the service in the same step."""
    assert run.person is not None and run.item is not None  # validation: identify, choose
    new = NewTicket(
        person=run.person,
        item=run.item,
        description=run.fill(node.description, spoken=False),
        call_id=run.call_id,
        idempotency_key=f"call:{run.call.uniqueid}:item:{run.item.id}",
        message=run.message(node.message, item=run.item.name),
    )
    try:
        ticket = await run.waiting(run.ports.tickets.open(new))
    except PortUnavailable:
        run.step(result="unavailable")
        if node.failure is None:
            raise
        return node.failure
    run.protocol = ticket.protocol
    run.ticket_opened = True
    run.step(item_id=run.item.id)  # stored with the call's next batch: the caller goes on
    return node.next


@handles(TicketStatus)
async def ticket_status(run: Run, node: TicketStatus) -> str:
    """The status of a ticket that is the caller's; another's and a missing one are alike."""
    assert run.person is not None  # validation: identify (and verify_code) before
    looks_valid = run.settings.protocol_scheme.looks_valid
    for _ in range(node.tries):
        typed = await run.keypad.ask(run.speech(node.ask_prompt), node.max_digits, node.timeout_s)
        if not typed or not looks_valid(typed):
            run.step(result="invalid" if typed else "no_input")
            await run.keypad.say(run.speech(node.invalid_prompt if typed else node.no_input_prompt))
            continue
        found = await run.waiting(run.ports.tickets.status(run.person, typed))
        if found is None:
            run.step(result="not_found")
            await run.keypad.say(run.speech(node.not_found_prompt))
            continue
        run.step(result="found")
        await run.keypad.say([_describe(run, found)])
        return node.next
    return await run.give_up(node.failure, "no_input")


def _describe(run: Run, ticket: TicketStatusView) -> str:
    opened = date_for_speech(ticket.opened, language=run.flow.language)
    if ticket.status is None:  # osTicket: its API cannot tell a ticket's status
        return run.text(
            "ticket_status_unreadable",
            item=ticket.item_name,
            date=opened,
            number=ticket.external_number or "",
        )
    status = run.text(f"status_{ticket.status.value}")
    return run.text("ticket_status", item=ticket.item_name, date=opened, status=status)


@handles(RecordMessage)
async def record_message(run: Run, node: RecordMessage) -> str:
    """The caller speaks after the tone; the recording is kept even when they hang up."""
    await run.keypad.play(run.speech(node.prompt))
    path = run.ports.recordings.path_for(run.call_id)
    result = await run.call.record(
        path, node.max_seconds, node.silence_seconds, node.beep, node.end_key or ""
    )
    await run.ports.recordings.attach(run.call_id, path, run.protocol)
    run.step(result=result.ended_by, seconds=round(result.seconds))
    if result.ended_by == "hangup":
        raise CallerGone("the caller hung up during the recording")
    return node.next
