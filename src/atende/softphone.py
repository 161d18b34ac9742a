"""``atende call``: try the whole URA from a terminal, with no PBX and no phone.

It calls the FastAGI server exactly as Asterisk would (the Asterisk emulator), prints the text
of every prompt, plays its audio when a player is installed (sox's ``play`` or ``aplay``), and
sends the keys you type: one key for a menu, digits and Enter (``#`` optional) for a code,
Enter alone for "no key", ``h`` to hang up.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from atende.agi.emulator import HANGUP, AsteriskEmulator, CallerInput, EmulatedCommand

PLAYERS = (("play", "-q"), ("aplay", "-q"))


def prompt_text(stream_name: str) -> str:
    """The words of a prompt: the text the audio cache keeps beside each file."""
    text_file = Path(stream_name + ".txt")
    if text_file.is_file():
        return text_file.read_text(encoding="utf-8")
    return f"[{stream_name}]"


def find_player() -> list[str] | None:
    for name, *flags in PLAYERS:
        path = shutil.which(name)
        if path:
            return [path, *flags]
    return None


class Softphone:
    """The terminal side of a call: shows prompts, reads keys."""

    def __init__(
        self,
        read_line: Callable[[str], str] = input,
        write: Callable[[str], None] = print,
        player: list[str] | None = None,
    ) -> None:
        self.read_line = read_line
        self.write = write
        self.player = player
        self._playing: subprocess.Popen[bytes] | None = None

    def on_play(self, stream_name: str) -> None:
        self.write(f"🔊 {prompt_text(stream_name)}")
        self._stop_audio()
        if self.player and not stream_name.startswith("http"):
            self._playing = subprocess.Popen(
                [*self.player, stream_name + ".wav"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    def _stop_audio(self) -> None:
        if self._playing is not None and self._playing.poll() is None:
            self._playing.terminate()
        self._playing = None

    async def on_prompt(self, command: EmulatedCommand) -> CallerInput:
        if command.verb == "WAIT FOR DIGIT":
            return None  # the person already answered (or not) while the prompt showed
        if command.verb == "GET DATA":
            hint = "digite e tecle Enter (h desliga)"
        else:
            hint = "tecla (Enter: nenhuma, h desliga)"
        typed = (await asyncio.to_thread(self.read_line, f"  ⌨ {hint}: ")).strip()
        self._stop_audio()
        if typed.lower() == "h":
            return HANGUP
        if not typed:
            return None
        return typed if command.verb == "GET DATA" else typed[0]

    async def call(self, host: str, port: int, caller_id: str | None) -> AsteriskEmulator:
        emulator = AsteriskEmulator(
            port,
            host,
            callerid=caller_id,
            uniqueid=f"softphone.{asyncio.get_running_loop().time():.6f}",
            channel="Local/softphone@atende-00000001;2",
            on_prompt=self.on_prompt,
            on_play=self.on_play,
        )
        try:
            await emulator.run(timeout=None)
        finally:
            self._stop_audio()
        self.report(emulator)
        return emulator

    def report(self, emulator: AsteriskEmulator) -> None:
        if emulator.hung_up_by == "server":
            self.write("☎ a URA desligou a chamada.")
        elif emulator.hung_up_by == "caller":
            self.write("☎ você desligou.")
        else:
            destination = f"{emulator.context},{emulator.extension},{emulator.priority}"
            variables = ", ".join(f"{k}={v}" for k, v in emulator.variables.items())
            self.write(f"☎ chamada entregue ao plano de discagem em {destination} ({variables}).")
