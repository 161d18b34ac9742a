"""The flow engine: runs a flow document over one call, node by node, to an outcome.

It owns what no flow file may forget: the call record from start to end, the node a hang-up
happened at, goodbye and hang-up (never to a caller who is gone), an apology on a fault, and
an outcome that stays ``ticket_opened`` once a ticket exists. What each node does is its
handler's (``atende.flows.handlers``); keys are the keypad's (``atende.flows.keys``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from atende.agi.errors import AgiProtocolError, CallerGone
from atende.flows import handlers
from atende.flows.call import FlowCall, Sound
from atende.flows.keys import Keypad
from atende.flows.nodes import Step
from atende.flows.ports import CallOutcome, EngineSettings, FlowPorts
from atende.flows.run import Ends, Jump, Run
from atende.flows.schema import Flow

log = logging.getLogger(__name__)


class FlowEngine:
    """One call through one flow: ``outcome = await FlowEngine(flow, ports, call).run()``."""

    def __init__(
        self,
        flow: Flow,
        ports: FlowPorts,
        call: FlowCall,
        settings: EngineSettings | None = None,
        version: int | None = None,
    ) -> None:
        self.flow = flow
        self.ports = ports
        self.call = call
        self.settings = settings or EngineSettings()
        self.version = version  # of the published flow; None for a flow file

    async def run(self) -> CallOutcome:
        call = self.call
        call_id = await self.ports.log.start(
            call.uniqueid, call.caller_id, call.channel_name, self.flow.name, self.version
        )
        hours = await self.ports.hours.current()
        run = Run(
            self.flow, self.ports, self.call, self.settings, call_id, hours, Keypad(self.call)
        )
        outcome: CallOutcome = "failed"
        try:
            await self.call.answer()
            await self._walk(run)
        except Ends as ended:
            outcome = ended.outcome
            if ended.goodbye:
                await self._goodbye(run, ended.speech)
        except CallerGone:
            outcome = "abandoned"
            run.event("hangup")
        except AgiProtocolError:
            raise  # the connection is unusable: the server logs why and closes it
        except Exception:
            log.exception("call %s failed at node %s", call_id, run.at)
            await self._apologise(run)
        finally:
            if run.ticket_opened:
                outcome = "ticket_opened"
            await run.settle()
            await self.ports.log.end(call_id, outcome)
        return outcome

    async def _walk(self, run: Run) -> None:
        """Follow the exits from the start node until a node ends the call."""
        node_id = self.flow.start
        while True:
            run.at = node_id
            node = self.flow.nodes[node_id]
            if isinstance(node, Step) and node.only_if and not self.settings.flag(node.only_if):
                node_id = node.next
                continue
            try:
                node_id = await handlers.HANDLERS[node.type](run, node)
            except Jump as jump:
                node_id = jump.target

    async def _goodbye(self, run: Run, speech: Sequence[Sound] | None) -> None:
        try:
            await run.keypad.play(speech if speech is not None else [run.text("goodbye")])
            await self.call.hang_up()
        except CallerGone:
            run.event("hangup")

    async def _apologise(self, run: Run) -> None:
        try:
            await self.call.play(run.text("technical_problem"))
            await self.call.hang_up()
        except Exception:  # the call is being ended after a fault: nothing more to do
            log.debug("could not apologise to the caller", exc_info=True)
