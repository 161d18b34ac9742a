"""Nodes that route the call: hours, set, goto, hang_up and transfer to the dialplan."""

from __future__ import annotations

from atende.flows.call import Destination
from atende.flows.nodes import Goto, HangUp, Hours, Set, Transfer
from atende.flows.run import Ends, Run, handles


@handles(Hours)
async def hours(run: Run, node: Hours) -> str:
    now = run.ports.clock()
    if node.holiday is not None and run.hours.is_holiday(now.date()):
        run.step(result="holiday")
        return node.holiday
    is_open = run.hours.is_open(now)
    run.step(result="open" if is_open else "closed")
    return node.open if is_open else node.closed


@handles(Set)
async def set_variables(run: Run, node: Set) -> str:
    run.step()
    run.variables.update(
        {name: run.fill(text, spoken=False) for name, text in node.variables.items()}
    )
    return node.next


@handles(Goto)
async def goto(run: Run, node: Goto) -> str:
    return node.target


@handles(HangUp)
async def hang_up(run: Run, node: HangUp) -> str:
    run.step()
    raise Ends(node.outcome, run.speech(node.prompt))


@handles(Transfer)
async def transfer(run: Run, node: Transfer) -> str:
    """Hand the call to the dialplan with the channel variables: the caller is served there,
    so there is no goodbye and no hang-up."""
    await run.keypad.play(run.speech(node.prompt))
    place = node.destination
    if place == "settings":
        destination = Destination(*run.settings.attendant_destination)
    else:
        destination = Destination(place.context, place.extension, place.priority)
    variables = {name: run.fill(text, spoken=False) for name, text in node.variables.items()}
    await run.call.hand_over(destination, variables)
    run.step()
    raise Ends("transferred", speech=None, goodbye=False)
