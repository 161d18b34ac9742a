"""Drive the URA end to end: a real FastAGI server with the flow, called by the fake Asterisk.

A :class:`ScriptedCaller` answers each key-listening prompt by what it *says* (the text kept
beside each audio file), the way a person reacts to what they hear: ``("abrir um chamado",
"1")`` presses 1 when a prompt containing those words plays. Every prompt listens for keys
(the engine judges them), so a prompt the script does not name (or a prompt where the script
types several digits, meant for a question) is listened to without a key;
a question (GET DATA) the script did not expect fails the test with the text heard. A
recording (RECORD FILE) is heard as :data:`RECORDING`.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from atende.agi.emulator import HANGUP, AsteriskEmulator, CallerInput, EmulatedCommand
from atende.agi.server import AgiServer
from atende.bootstrap import build_audio_cache
from atende.ivr.wiring import PhoneDeps, build_agi_server, build_phone
from atende.services.bundle import Services

Reply = CallerInput | Callable[[], "asyncio.Future[str] | str"]

RECORDING = "(gravação)"  # what a RECORD FILE "says" to a ScriptedCaller

__all__ = [
    "HANGUP",
    "RECORDING",
    "ScriptedCaller",
    "call_ura",
    "heard",
    "place_call",
    "read_code",
    "running_ura",
]


def heard(command: EmulatedCommand) -> str:
    """The text of the prompt a STREAM FILE or GET DATA plays."""
    return Path(command.args[0] + ".txt").read_text(encoding="utf-8")


@dataclass
class ScriptedCaller:
    """Answers prompts in order: each step is (words the prompt must contain, reply)."""

    steps: list[tuple[str, Reply]]
    outbox: Path | None = None
    prompts: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    async def __call__(self, command: EmulatedCommand) -> CallerInput:
        if command.verb == "WAIT FOR DIGIT":
            return None
        said = RECORDING if command.verb == "RECORD FILE" else heard(command)
        self.prompts.append(said)
        asked = command.verb == "GET DATA"
        if not self.steps:
            if not asked:
                return None
            self.unexpected.append(said)
            return HANGUP
        words, reply = self.steps[0]
        typed = isinstance(reply, str) and (len(reply) > 1 or reply == "#")  # for a question
        if words.lower() not in said.lower() or (typed and not asked):
            if not asked:
                return None  # listened to, no key pressed
            self.unexpected.append(f"expected {words!r}, heard {said!r}")
            return HANGUP
        self.steps.pop(0)
        if callable(reply):
            value = reply()
            return await value if asyncio.isfuture(value) or asyncio.iscoroutine(value) else value
        return reply


async def read_code(outbox: Path, timeout: float = 5.0) -> str:
    """The newest one-time code written to the development outbox, as the caller's phone
    would show it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if outbox.exists():
            lines = [json.loads(x) for x in outbox.read_text(encoding="utf-8").splitlines()]
            codes = [m for m in lines if m.get("kind") == "otp"]
            if codes:
                return re.search(r"\d{6}", codes[-1]["text"]).group() + "#"  # type: ignore[union-attr]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("no one-time code reached the outbox")
        await asyncio.sleep(0.01)


@asynccontextmanager
async def running_ura(services: Services) -> AsyncIterator[tuple[AgiServer, PhoneDeps]]:
    deps = build_phone(services)
    server = build_agi_server(deps, build_audio_cache(deps.settings))
    await server.start()
    try:
        yield server, deps
    finally:
        await server.stop(2)


def call_ura(services: Services, caller: ScriptedCaller, **options: object) -> AsteriskEmulator:
    """One call, start to end, against a URA started for it (the common case of a test)."""

    async def scenario() -> AsteriskEmulator:
        async with running_ura(services) as (server, _):
            return await place_call(server.port, caller, **options)

    return asyncio.run(scenario())


async def place_call(port: int, caller: ScriptedCaller, **options: object) -> AsteriskEmulator:
    fake = AsteriskEmulator(port, on_prompt=caller, **options)  # type: ignore[arg-type]
    return await fake.run(timeout=30)
