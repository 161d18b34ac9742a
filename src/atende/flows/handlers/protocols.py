"""Nodes of the attendance protocol: issue_protocol (keep, link or new) and read_protocol.

The protocol message is the service's to queue, in the transaction that issues or links the
number (RN 623: the beneficiary receives it), so a caller who hangs up during the read-back
still gets it; the engine never sends it after speaking. A protocol issued before the caller
is known (at the start, in health-plan mode) is tied to them by the caller's phone while the
greeting plays, when the directory knows that phone: its message then goes even if they hang
up before saying who they are (the call log's ``identify`` claims the call's protocols).

One protocol, one message: when an ``identify`` is followed at once (through ``set`` and
``goto`` only, so with no caller input between) by an ``issue_protocol`` that links the
protocol, the identification leaves the protocol to that link, whose transaction ties it and
queues the flow's own text (reason, date, time). Nothing the caller does can come between the
two, so a hang-up right after identifying still gets the message, and gets it once.
"""

from __future__ import annotations

import logging

from atende.flows.nodes import Goto, IssueProtocol, ReadProtocol, Set, Step
from atende.flows.run import Run, handles
from atende.speech.numbers import digit_parts

log = logging.getLogger(__name__)


@handles(IssueProtocol)
async def issue_protocol(run: Run, node: IssueProtocol) -> str:
    reason = run.fill(node.reason, spoken=False) if node.reason is not None else None
    message = run.message(node.message)
    protocols = run.ports.protocols
    if run.protocol is not None and node.existing == "keep":
        run.step(result="kept")
    elif run.protocol is not None and node.existing == "link":
        await run.waiting(protocols.link(run.protocol, run.person, reason, message))
        run.step(result="linked")
    else:
        run.protocol = await run.waiting(protocols.issue(run.call_id, run.person, reason, message))
        run.step(result="issued")
        if run.person is None and run.call.caller_id:
            run.alongside(_claim_by_caller_phone(run, run.call.caller_id))
    return node.next


def linked_next(run: Run, node_id: str) -> bool:
    """Whether the node ``node_id`` leads, through ``set`` and ``goto`` only (and nodes the
    settings skip), to an ``issue_protocol`` that links the call's protocol to its person."""
    seen: set[str] = set()
    while node_id not in seen:
        seen.add(node_id)
        node = run.flow.nodes[node_id]
        if isinstance(node, Step) and node.only_if and not run.settings.flag(node.only_if):
            node_id = node.next
        elif isinstance(node, IssueProtocol):
            return node.existing == "link"
        elif isinstance(node, Set):
            node_id = node.next
        elif isinstance(node, Goto):
            node_id = node.target
        else:
            return False
    return False


async def _claim_by_caller_phone(run: Run, caller_id: str) -> None:
    try:
        person = await run.ports.directory.find("caller_phone", caller_id)
        if person is not None:
            await run.ports.log.identify(run.call_id, person)
    except Exception as exc:  # the call goes on; the protocol is linked at identification
        # The type only: an error's text may hold the number.
        log.warning("call %s: caller id lookup failed: %s", run.call_id, type(exc).__name__)


@handles(ReadProtocol)
async def read_protocol(run: Run, node: ReadProtocol) -> str:
    """The number digit by digit; the repeat key, pressed during it or up to ``timeout_s``
    after, reads it again. Any other key is typed ahead for the next node."""
    assert run.protocol is not None  # validation: issue_protocol or open_ticket before
    spoken = [*run.speech(node.prompt), *digit_parts(run.protocol)]
    if node.repeat_key is None:
        await run.keypad.say(spoken)
        run.step()
        return node.next
    spoken += ["", *run.speech(node.repeat_prompt)]
    run.step()
    for _ in range(node.repeats + 1):
        key = await run.keypad.play(spoken)
        if key is None and not run.keypad.pending:
            key = await run.keypad.wait(node.timeout_s)
        if key != node.repeat_key:
            run.keypad.push(key)
            break
        run.step(key=key)
    return node.next
