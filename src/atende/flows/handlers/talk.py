"""Nodes that speak and listen: say, info, menu and the satisfaction survey."""

from __future__ import annotations

from atende.flows.nodes import Info, Menu, Say, Survey
from atende.flows.run import Ends, Run, handles
from atende.flows.run import Menu as Choice


@handles(Info)
@handles(Say)
async def say(run: Run, node: Say | Info) -> str:
    """A prompt that waits for nothing: a key that cuts it goes to the next menu."""
    run.step()
    await run.keypad.say(run.speech(node.prompt))
    return node.next


@handles(Menu)
async def menu(run: Run, node: Menu) -> str:
    choice = Choice(
        run.speech(node.prompt),
        "".join(node.options),
        node.repeat_key,
        node.tries,
        node.timeout_s,
        run.speech(node.invalid_prompt),
        run.speech(node.no_input_prompt),
    )
    key = await run.choose(choice)
    if key is not None:
        run.step(key=key)
        return node.options[key]
    # the last miss decides which exit: invalid (a wrong key) or no_input (silence)
    exit_to = node.invalid if run.last_miss == "invalid" else node.no_input
    if exit_to is None:
        raise Ends("no_input")
    return exit_to


@handles(Survey)
async def survey(run: Run, node: Survey) -> str:
    """One question, not a menu: 0 is no way to a person here (the service is given), and a
    key that is no score hears "opção inválida" and goes on without a score."""
    key = await run.keypad.choose(run.speech(node.prompt), node.timeout_s)
    if key is not None and key.isdigit() and 1 <= int(key) <= node.max_score:
        await run.ports.log.survey(run.call_id, int(key))
        run.step(score=int(key))
        await run.keypad.say(run.speech(node.thanks_prompt))
    elif key is not None:
        run.step(result="invalid")
        await run.keypad.say([run.text("invalid_option")])
    else:
        run.step(result="no_answer")
    return node.next
