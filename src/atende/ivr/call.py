"""The flow engine's :class:`~atende.flows.call.FlowCall` over a FastAGI channel.

Texts are spoken through the audio cache (a sequence of texts becomes one joined file, so a
prompt is one STREAM FILE that a key can cut); an uploaded recording is played as its own file
between them. The caller's message is recorded with RECORD FILE as a WAV file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from atende.agi.protocol import AgiChannel
from atende.config import Settings
from atende.flows.call import Destination, FlowSpeech, RecordResult
from atende.flows.prompts import Recording
from atende.speech import AudioCache, audio_ref

SAMPLE_RATE = 8000  # what RECORD FILE's endpos counts
RECORDING_FORMAT = "wav"
LIMIT_SLACK_S = 0.5  # a recording this close to its limit ended by the limit, not by silence


def uploaded_recordings(settings: Settings) -> Path:
    """Where a flow's uploaded recordings (``{recording: NAME}``) are: ``recordings`` beside
    the synthesized audio, so Asterisk reads both alike."""
    return (settings.sounds_dir or settings.data_dir / "audio").resolve() / "recordings"


class AgiCall:
    """A FlowCall over a FastAGI channel, speaking through the audio cache."""

    def __init__(self, channel: AgiChannel, cache: AudioCache, settings: Settings) -> None:
        self.channel = channel
        self.cache = cache
        self.settings = settings
        env = channel.env
        self.uniqueid: str = env.uniqueid
        self.caller_id: str | None = env.callerid
        self.channel_name: str | None = env.channel

    async def _audio(self, parts: Sequence[str]) -> str:
        if len(parts) == 1 and parts[0]:
            return audio_ref(await self.cache.aget(parts[0]), self.settings)
        return audio_ref(await self.cache.acompose(parts), self.settings)

    async def _files(self, text: FlowSpeech) -> list[str]:
        """What to play for ``text``: runs of texts joined into one file each, recordings
        as they are."""
        if isinstance(text, str):
            return [await self._audio([text])]
        files: list[str] = []
        run: list[str] = []
        for part in [*text, None]:
            if isinstance(part, str):
                run.append(part)
                continue
            if run:
                files.append(await self._audio(run))
                run = []
            if isinstance(part, Recording):
                files.append(self._recording(part))
        return files

    def _recording(self, part: Recording) -> str:
        return str(uploaded_recordings(self.settings) / part.recording)

    async def answer(self) -> None:
        await self.channel.answer()

    async def prepare(self, text: str) -> None:
        await self.cache.aget(text)

    async def play(self, text: FlowSpeech, keys: str = "") -> str | None:
        for audio in await self._files(text):
            key = await self.channel.stream_file(audio, keys)
            if key is not None:
                return key
        return None

    async def ask(self, text: FlowSpeech, max_digits: int, timeout_s: float) -> tuple[str, bool]:
        *before, last = await self._files(text) or [await self._audio([""])]
        for audio in before:  # a key typed during a recording before the question is its first
            key = await self.channel.stream_file(audio, "0123456789")
            if key is not None:
                digits, timed_out = await self.channel.get_data(
                    last, int(timeout_s * 1000), max_digits - 1
                )
                return key + digits, timed_out
        return await self.channel.get_data(last, int(timeout_s * 1000), max_digits)

    async def wait_key(self, timeout_s: float) -> str | None:
        return await self.channel.wait_for_digit(int(timeout_s * 1000))

    async def record(
        self,
        path: str,
        max_seconds: int,
        silence_seconds: int | None,
        beep: bool,
        end_keys: str,
    ) -> RecordResult:
        recorded = await self.channel.record_file(
            path,
            RECORDING_FORMAT,
            end_keys,
            max_seconds * 1000,
            beep=beep,
            silence_s=silence_seconds,
        )
        seconds = recorded.samples / SAMPLE_RATE
        if recorded.ended_by == "hangup":
            return RecordResult("hangup", seconds)
        if recorded.ended_by == "dtmf":
            return RecordResult("key", seconds)
        # Asterisk answers "(timeout)" for silence and for the limit alike.
        if silence_seconds and seconds < max_seconds - LIMIT_SLACK_S:
            return RecordResult("silence", seconds)
        return RecordResult("limit", seconds)

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
