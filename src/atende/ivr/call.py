"""The small call interface the flow talks to, and its FastAGI implementation.

The flow says "play this text, listening for these keys", "ask for up to N digits", "hand the
call to this dialplan place", "hang up"; it never sees AGI commands or audio files. Asterisk's
ARI, or anything else that can play audio and collect keys, can drive the same flow by
implementing :class:`Call`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from atende.agi.protocol import AgiChannel
from atende.config import Settings
from atende.speech import AudioCache, audio_ref

Speech = str | Sequence[str]


@dataclass(frozen=True)
class Destination:
    context: str
    extension: str
    priority: str


class Call(Protocol):
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

    async def play(self, text: Speech, keys: str = "") -> str | None:
        """Speak ``text`` (a sequence: its parts one after another, an empty part a pause);
        returns the key (one of ``keys``) that interrupted it, or None."""
        ...

    async def ask(self, text: str, max_digits: int, timeout_s: float) -> tuple[str, bool]:
        """Speak ``text`` and collect up to ``max_digits`` digits (``#`` ends early).
        Returns (digits, timed_out)."""
        ...

    async def wait_key(self, timeout_s: float) -> str | None: ...

    async def hand_over(self, destination: Destination, variables: dict[str, str]) -> None:
        """Leave the flow: the call continues in the dialplan at ``destination``."""
        ...

    async def hang_up(self) -> None: ...


class AgiCall:
    """A :class:`Call` over a FastAGI channel, speaking through the audio cache."""

    def __init__(self, channel: AgiChannel, cache: AudioCache, settings: Settings) -> None:
        self.channel = channel
        self.cache = cache
        self.settings = settings
        env = channel.env
        self.uniqueid = env.uniqueid
        self.caller_id = env.callerid
        self.channel_name = env.channel

    async def _audio(self, text: Speech) -> str:
        if isinstance(text, str):
            return audio_ref(await self.cache.aget(text), self.settings)
        return audio_ref(await asyncio.to_thread(self.cache.compose, text), self.settings)

    async def answer(self) -> None:
        await self.channel.answer()

    async def prepare(self, text: str) -> None:
        await self.cache.aget(text)

    async def play(self, text: Speech, keys: str = "") -> str | None:
        return await self.channel.stream_file(await self._audio(text), keys)

    async def ask(self, text: str, max_digits: int, timeout_s: float) -> tuple[str, bool]:
        return await self.channel.get_data(
            await self._audio(text), int(timeout_s * 1000), max_digits
        )

    async def wait_key(self, timeout_s: float) -> str | None:
        return await self.channel.wait_for_digit(int(timeout_s * 1000))

    async def hand_over(self, destination: Destination, variables: dict[str, str]) -> None:
        # Closing the socket without HANGUP returns the call to the dialplan, at the place set
        # here, with these variables visible (see the AGI transcript).
        for name, value in variables.items():
            await self.channel.set_variable(name, value)
        await self.channel.set_context(destination.context)
        await self.channel.set_extension(destination.extension)
        await self.channel.set_priority(destination.priority)

    async def hang_up(self) -> None:
        await self.channel.hangup()
