"""Nodes about who is calling: collect, identify, verify_code and confirm_person.

Digits typed are personal data: they go into flow variables or to the directory, never into
a step. An unknown typed code may be kept secret (``identify.reveal_unknown: false``): the
caller goes on to the one-time code, hears "code sent, type it" as a known caller would, no
code is sent, and every entry is wrong, with the attempts counted down as for a real code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from atende.domain.otp_policy import CODE_DIGITS, MAX_WRONG_ENTRIES, OtpPolicy, needs_code
from atende.flows.call import Sound
from atende.flows.checks import checker
from atende.flows.handlers.protocols import linked_next
from atende.flows.nodes import (
    AUTOMATIC_METHODS,
    Check,
    Collect,
    ConfirmPerson,
    DigitEntry,
    Identify,
    IdentifyBy,
    VerifyCode,
)
from atende.flows.ports import CodeCheck, CodeStatus, PersonView, PortUnavailable
from atende.flows.run import Ends, Menu, Run, handles


async def _entry(
    run: Run,
    node: DigitEntry,
    speech: Sequence[Sound],
    check: Check | None,
    invalid: Sequence[Sound],
) -> str | None:
    """One entry of ``node``'s digits that passes ``check``; None after a miss, which is
    said (``invalid`` for a wrong number, the node's no-input prompt for none) and recorded."""
    digits = await run.keypad.ask(speech, node.max_digits, node.timeout_s)
    if digits and len(digits) >= node.min_digits and checker(check, run.settings)(digits):
        return digits
    run.step(result="invalid" if digits else "no_input")
    await run.keypad.say(invalid if digits else run.speech(node.no_input_prompt))
    return None


@handles(Collect)
async def collect(run: Run, node: Collect) -> str:
    invalid = run.speech(node.invalid_prompt) or [run.text("invalid_option")]
    for _ in range(node.tries):
        digits = await _entry(run, node, run.speech(node.prompt), node.check, invalid)
        if digits is not None:
            run.step(result="ok")
            run.variables[node.store_as] = digits
            return node.next
    return await run.give_up(node.failure, "no_input")


@handles(Identify)
async def identify(run: Run, node: Identify) -> str:
    caller_id = run.call.caller_id
    for method in node.by:
        if method in AUTOMATIC_METHODS:
            if caller_id and await _found(run, node, method, caller_id):
                return node.next
        else:
            return await _typed(run, node, method)
    run.step(result="not_found")
    return await run.give_up(node.not_found, "no_input", run.speech(node.unknown_prompt))


async def _typed(run: Run, node: Identify, method: IdentifyBy) -> str:
    hide = not node.reveal_unknown and _code_required(run, node.next)
    invalid = run.speech(node.invalid_prompt or node.unknown_prompt)
    for _ in range(node.tries):
        digits = await _entry(run, node, run.speech(node.ask_prompt), node.check, invalid)
        if digits is None:
            continue
        if await _found(run, node, method, digits):
            return node.next
        run.step(result="unknown")
        if hide:
            run.unknown_caller = True
            return node.next
        await run.keypad.say(run.speech(node.unknown_prompt))
    return await run.give_up(node.not_found, "no_input", run.speech(node.give_up_prompt))


async def _found(run: Run, node: Identify, method: IdentifyBy, value: str) -> bool:
    person = await run.waiting(run.ports.directory.find(method, value))
    if person is None:
        return False
    run.person = person
    run.by_extension = method == "extension"
    run.step(by=method)
    # A link right after ties the protocol with the flow's own message (see protocols).
    claim = not (run.protocol is not None and linked_next(run, node.next))
    await run.ports.log.identify(run.call_id, person, claim_protocols=claim)
    return True


def _policy(run: Run, node: VerifyCode) -> OtpPolicy:
    return run.settings.otp if node.policy == "settings" else node.policy


def _code_required(run: Run, node_id: str) -> bool:
    """Whether the node ``node_id`` is a verify_code that asks a caller who typed a code."""
    node = run.flow.nodes[node_id]
    return isinstance(node, VerifyCode) and needs_code(_policy(run, node), False)


@handles(VerifyCode)
async def verify_code(run: Run, node: VerifyCode) -> str:
    if not needs_code(_policy(run, node), run.by_extension):
        run.step(result="not_needed")
        return node.next
    person = run.person if not run.unknown_caller else None
    if person is not None and not person.phone:
        run.step(result="no_phone")
        return await run.give_up(node.failure, "failed", run.speech(node.no_phone_prompt))
    # Sent, and the next prompt synthesized, while the caller hears the code prompt.
    sending = asyncio.create_task(_send(run, person))
    naming = asyncio.create_task(_prepare_next(run, node.next))
    speech = run.speech(node.ask_prompt)
    unavailable = run.speech(node.unavailable_prompt)
    try:
        for attempt in range(MAX_WRONG_ENTRIES):
            typed = await run.keypad.ask(speech, CODE_DIGITS, node.timeout_s)
            if attempt == 0 and not await sending:
                run.step(result="not_sent")
                return await run.give_up(node.failure, "failed", unavailable)
            result = await _check(run, person, typed, attempt)
            run.step(result=result.status.value)
            if result.status is CodeStatus.OK:
                return node.next
            if result.status is CodeStatus.UNAVAILABLE:
                return await run.give_up(node.failure, "failed", unavailable)
            if result.status is not CodeStatus.WRONG or not result.attempts_left:
                break
            await run.keypad.say(run.speech(node.wrong_prompt))
            speech = run.speech(node.again_prompt)
        return await run.give_up(node.failure, "verification_failed", run.speech(node.wrong_prompt))
    finally:
        naming.cancel()
        # A code on its way is not cut off half-sent when the caller hangs up: the call's
        # end waits for it, so the code, its message and the record agree.
        run.alongside(sending)


async def _send(run: Run, person: PersonView | None) -> bool:
    if person is None:  # an unknown caller: nothing to send, nothing to tell
        return True
    try:
        return await run.ports.codes.send(person, run.call_id)
    except PortUnavailable:
        return False


async def _check(run: Run, person: PersonView | None, typed: str, attempt: int) -> CodeCheck:
    """The check of the ``attempt``-th entry; an unknown caller's is wrong, counted down."""
    if person is None:
        left = MAX_WRONG_ENTRIES - attempt - 1
        return CodeCheck(CodeStatus.WRONG if left > 0 else CodeStatus.LOCKED, left)
    return await run.ports.codes.check(person, typed)


async def _prepare_next(run: Run, node_id: str) -> None:
    """Synthesize the texts of the confirm_person node that follows, if it does."""
    node = run.flow.nodes[node_id]
    if isinstance(node, ConfirmPerson) and run.person is not None:
        for part in run.speech(node.prompt, name=run.person.name):
            if isinstance(part, str):
                await run.call.prepare(part)


@handles(ConfirmPerson)
async def confirm_person(run: Run, node: ConfirmPerson) -> str:
    name = run.person.name if run.person else ""
    choice = Menu(
        run.speech(node.prompt, name=name),
        node.yes_key + node.no_key,
        tries=node.tries,
        invalid=[run.text("invalid_option")],
        no_input=[run.text("no_option")],
    )
    key = await run.choose(choice)
    if key is None:
        raise Ends("no_input")
    run.step(key=key)
    if key == node.yes_key:
        return node.next
    if node.declined is None:
        raise Ends("declined", [run.text("not_you"), run.text("goodbye")])
    return node.declined
