"""The ``Call`` interface as the flow engine needs it: recordings in prompts, and RECORD FILE.

``atende.ivr.call.Call`` speaks texts; a flow may also play an uploaded recording among the
parts of a prompt, and record the caller. :class:`FlowCall` widens ``play``/``ask`` to take
those parts and adds ``record``; ``AgiCall`` must grow both before the engine is wired in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from atende.flows.prompts import Recording
from atende.ivr.call import Call, Speech

Sound = str | Recording  # a text to speak, or an uploaded recording to play as it is
FlowSpeech = Speech | Sequence[Sound]


@dataclass(frozen=True)
class RecordResult:
    """How a recording ended: silence, the end key, the time limit, or the caller hanging up
    (``record`` returns then, rather than raising, so the message is kept)."""

    ended_by: Literal["silence", "key", "limit", "hangup"]
    seconds: float


class FlowCall(Call, Protocol):
    async def play(self, text: FlowSpeech, keys: str = "") -> str | None: ...

    async def ask(
        self, text: FlowSpeech, max_digits: int, timeout_s: float
    ) -> tuple[str, bool]: ...

    async def record(
        self,
        path: str,
        max_seconds: int,
        silence_seconds: int | None,
        beep: bool,
        end_keys: str,
    ) -> RecordResult:
        """Record the caller into ``path`` (Asterisk RECORD FILE, WAV)."""
        ...
