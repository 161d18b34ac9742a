"""The call interface (``FlowCall``) the flow engine talks to, instead of raw AGI commands.

A node says "play these parts, listening for these keys", "ask for up to N digits", "record
the caller", "hand the call to this dialplan place", "hang up"; it never sees AGI commands or
audio files. A part is a text to speak or an uploaded recording to play as it is. FastAGI
(``atende.ivr.call.AgiCall``), the tests' fakes and, one day, Asterisk's ARI implement it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from atende.flows.prompts import Recording

Sound = str | Recording  # a text to speak, or an uploaded recording to play as it is
FlowSpeech = str | Sequence[Sound]


@dataclass(frozen=True)
class Destination:
    """A place in the dialplan: where a transferred call goes on."""

    context: str
    extension: str
    priority: str


@dataclass(frozen=True)
class RecordResult:
    """How a recording ended: silence, the end key, the time limit, or the caller hanging up
    (``record`` returns then, rather than raising, so the message is kept)."""

    ended_by: Literal["silence", "key", "limit", "hangup"]
    seconds: float


class FlowCall(Protocol):
    # Read-only: an implementation may hold narrower values (AgiCall's channel is always named).
    @property
    def uniqueid(self) -> str: ...

    @property
    def caller_id(self) -> str | None: ...

    @property
    def channel_name(self) -> str | None: ...

    async def answer(self) -> None: ...

    async def prepare(self, text: str) -> None:
        """Get ``text`` ready to play (synthesize it now) without playing it."""
        ...

    async def play(self, text: FlowSpeech, keys: str = "") -> str | None:
        """Play ``text`` (a sequence: its parts one after another, an empty part a pause);
        returns the key (one of ``keys``) that interrupted it, or None."""
        ...

    async def ask(self, text: FlowSpeech, max_digits: int, timeout_s: float) -> tuple[str, bool]:
        """Play ``text`` and collect up to ``max_digits`` digits (``#`` ends early).
        Returns (digits, timed_out)."""
        ...

    async def wait_key(self, timeout_s: float) -> str | None: ...

    async def record(
        self,
        path: str,
        max_seconds: int,
        silence_seconds: int | None,
        beep: bool,
        end_keys: str,
    ) -> RecordResult:
        """Record the caller into ``path`` + ``.wav`` (Asterisk RECORD FILE)."""
        ...

    async def hand_over(self, destination: Destination, variables: dict[str, str]) -> None:
        """Leave the flow: the call continues in the dialplan at ``destination``."""
        ...

    async def hang_up(self) -> None: ...
