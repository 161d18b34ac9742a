"""An Asterisk emulator: calls a FastAGI server and answers exactly like Asterisk 22 does.

It is the PBX side of ``atende call`` (the terminal softphone: a person types the keys) and of
the test suite (a script types them).

Every reply form, hang-up notice and dead-channel rule here was observed on a real Asterisk
22.10.1 (the project's AGI transcript), so tests of the protocol layer, of the call flow
and the terminal softphone exercise the same traps a real PBX sets: bare ``HANGUP`` lines in
three positions, ``511`` after a hang-up, keys lost when nothing listens, a second command sent
too early (recorded in ``errors``), and a socket that only the server closes.

Usage::

    fake = AsteriskEmulator(server.port, inputs=["1", "1234#", HANGUP])
    await fake.run()
    assert fake.files_played == [...]
    assert fake.errors == []

The caller's keys come from ``inputs``, one per key-listening command (STREAM FILE or SAY
DIGITS with escape digits, GET DATA, WAIT FOR DIGIT), or from ``on_prompt(command)``, which
may be a coroutine. An input is a key string ("1" for STREAM FILE/WAIT FOR DIGIT, "12345#" for
GET DATA), ``None`` for no key, or ``HANGUP`` for a caller who hangs up during that command.
``on_play(name)`` is told of every file played, listening or not.

Two habits of a real caller on a real Asterisk are modelled as the transcript measured them:
a ``#`` typed after a fixed-length entry that GET DATA already ended at its last digit
(``"123456#"`` for 6 digits) arrives during the next command (a listening STREAM FILE or WAIT
FOR DIGIT gets ``result=35``, a non-listening one drops it) without the caller being asked;
and RECORD FILE writes a real WAV (8 kHz mono 16-bit, a tone) where it was told to, then
answers ``(timeout)`` for an input of None (the caller spoke, then silence), ``(dtmf)`` for
an end key, ``(hangup)`` for HANGUP.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import math
import struct
import wave
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from atende.agi.protocol import ALLOWED_AFTER_HANGUP


class _Hangup:
    def __repr__(self) -> str:
        return "HANGUP"


HANGUP = _Hangup()
"""An input meaning: the caller hangs up during this command."""

CallerInput = str | None | _Hangup

DEAD = "511 Command Not Permitted on a dead channel or intercept routine"
UNKNOWN = "510 Invalid or unknown command"
FULL_PLAY_ENDPOS = 16000  # 2 s at 8 kHz
INTERRUPTED_ENDPOS = 8000
HANGUP_NOTICE_DELAY = 0.04
RECORDED_SECONDS = 1.5  # what a caller says in a RECORD FILE
SAMPLE_RATE = 8000
END_KEY = "#"
_TRUE = {"yes", "true", "y", "t", "1", "on"}

# verb -> (usage line, accepted argument counts after the verb)
_COMMANDS: dict[str, tuple[str, range]] = {
    "ANSWER": ("Usage: ANSWER", range(0, 1)),
    "STREAM FILE": ("Usage: STREAM FILE <filename> <escape_digits> [<sample offset>]", range(2, 4)),
    "GET DATA": ("Usage: GET DATA <file to be streamed> [timeout] [max digits]", range(1, 4)),
    "WAIT FOR DIGIT": ("Usage: WAIT FOR DIGIT <timeout>", range(1, 2)),
    "RECORD FILE": (
        "Usage: RECORD FILE <filename> <format> <escape digits> <timeout> "
        "[offset samples] [BEEP] [s=silence]",
        range(4, 8),
    ),
    "SAY DIGITS": ("Usage: SAY DIGITS <number> <escape digits>", range(2, 3)),
    "SET VARIABLE": ("Usage: SET VARIABLE <variablename> <value>", range(2, 3)),
    "GET VARIABLE": ("Usage: GET VARIABLE <variablename>", range(1, 2)),
    "GET FULL VARIABLE": ("Usage: GET FULL VARIABLE <variablename> [<channel name>]", range(1, 3)),
    "CHANNEL STATUS": ("Usage: CHANNEL STATUS [<channelname>]", range(0, 2)),
    "VERBOSE": ("Usage: VERBOSE <message> <level>", range(1, 3)),
    "NOOP": ("Usage: NOOP", range(0, 99)),
    "EXEC": ("Usage: EXEC <application> <options>", range(1, 3)),
    "SET CONTEXT": ("Usage: SET CONTEXT <desired context>", range(1, 2)),
    "SET EXTENSION": ("Usage: SET EXTENSION <new extension>", range(1, 2)),
    "SET PRIORITY": ("Usage: SET PRIORITY <priority>", range(1, 2)),
    "HANGUP": ("Usage: HANGUP [<channelname>]", range(0, 2)),
    "DATABASE GET": ("Usage: DATABASE GET <family> <key>", range(2, 3)),
    "DATABASE PUT": ("Usage: DATABASE PUT <family> <key> <value>", range(3, 4)),
    "DATABASE DEL": ("Usage: DATABASE DEL <family> <key>", range(2, 3)),
}
_VERBS = sorted(_COMMANDS, key=lambda verb: -len(verb.split()))


def parse_args(line: str) -> list[str]:
    """Split a command line like res_agi.c's parse_args: double quotes and backslash escapes."""
    words: list[str] = []
    current: list[str] | None = None
    quoted = escaped = False
    for char in line:
        if char == '"' and not escaped:
            quoted = not quoted
            if current is None:
                current = []
            continue
        if char in " \t" and not quoted and not escaped:
            if current is not None:
                words.append("".join(current))
                current = None
            continue
        if char == "\\" and not escaped:
            escaped = True
            continue
        escaped = False
        if current is None:
            current = []
        current.append(char)
    if current is not None:
        words.append("".join(current))
    return words


@dataclass(frozen=True, slots=True)
class EmulatedCommand:
    """A command as the fake understood it: ``verb`` in canonical form, ``args`` unquoted."""

    line: str
    verb: str
    args: list[str]


def _parse_command(line: str) -> EmulatedCommand | None:
    words = parse_args(line)
    for verb in _VERBS:
        size = len(verb.split())
        if [word.upper() for word in words[:size]] == verb.split():
            return EmulatedCommand(line, verb, words[size:])
    return None


class AsteriskEmulator:
    """One call from a fake Asterisk to the FastAGI server at ``host:port``.

    ``script`` is the FastAGI path (``agi://host:port/<script>``); ``dnid`` the number the
    caller dialled (``agi_dnid``).
    ``hangup_after_commands``: the caller hangs up while idle after that many replies.
    ``hangup_after_seconds``: the caller hangs up at the first idle moment after that delay.
    ``hangup_notice``: where the ``HANGUP`` line goes after a hang-up during a command:
    right after the ``-1`` reply (``"with_reply"``) or just before the next reply
    (``"next_command"``). ``missing_files`` play as ``200 result=-1 endpos=0``. Verbs in
    ``unanswered`` get no reply at all (a stuck Asterisk); verbs in ``replies`` get those lines
    instead of their reply (a broken Asterisk, or one newer than the transcript).
    ``command_delay`` is the time each command takes, during which a second command is a
    recorded protocol error.
    """

    def __init__(
        self,
        port: int,
        host: str = "127.0.0.1",
        *,
        script: str = "ura",
        dnid: str = "100",
        callerid: str | None = "5550100",
        calleridname: str | None = None,
        uniqueid: str = "1795228819.8",
        channel: str = "PJSIP/sipp-00000000",
        args: Iterable[str] = (),
        inputs: Iterable[CallerInput] = (),
        on_prompt: Callable[[EmulatedCommand], CallerInput | Awaitable[CallerInput]] | None = None,
        on_play: Callable[[str], object] | None = None,
        hangup_after_commands: int | None = None,
        hangup_after_seconds: float | None = None,
        hangup_notice: Literal["with_reply", "next_command"] = "with_reply",
        missing_files: Iterable[str] = (),
        unanswered: Iterable[str] = (),
        replies: Mapping[str, Sequence[str]] | None = None,
        command_delay: float = 0.0,
    ) -> None:
        self.host = host
        self.port = port
        self.script = script
        self.dnid = dnid
        self.callerid = callerid
        self.calleridname = calleridname
        self.uniqueid = uniqueid
        self.channel = channel
        self.args = list(args)
        self.inputs: deque[CallerInput] = deque(inputs)
        self.on_prompt = on_prompt
        self.on_play = on_play
        self.hangup_after_commands = hangup_after_commands
        self.hangup_after_seconds = hangup_after_seconds
        self.hangup_notice = hangup_notice
        self.missing_files = set(missing_files)
        self.unanswered = set(unanswered)
        self.replies = {verb: list(lines) for verb, lines in (replies or {}).items()}
        self.command_delay = command_delay
        # What happened, for assertions.
        self.transcript: list[tuple[str, list[str]]] = []
        self.wire: list[tuple[str, str]] = []
        self.played: list[tuple[str, str]] = []
        self.variables: dict[str, str] = {}
        self.database: dict[tuple[str, str], str] = {}
        self.context = "ivr"
        self.extension = "100"
        self.priority = "3"
        self.errors: list[str] = []
        self.hung_up_by: Literal["caller", "server"] | None = None
        self.closed_by_server = False
        # Connection state.
        self._writer: asyncio.StreamWriter | None = None
        self._pending: deque[str | None] = deque()
        self._arrived = asyncio.Event()
        self._idle = asyncio.Event()
        self._deferred_notice = False
        self._answered = 0
        self._timers: set[asyncio.Task[None]] = set()
        self._late_end_key = False  # a "#" typed after GET DATA's last digit, not yet arrived
        self.recordings: list[Path] = []

    # -- what the caller heard -----------------------------------------------------------

    @property
    def files_played(self) -> list[str]:
        return [value for kind, value in self.played if kind == "file"]

    @property
    def digits_said(self) -> list[str]:
        return [value for kind, value in self.played if kind == "digits"]

    @property
    def commands(self) -> list[str]:
        return [line for line, _ in self.transcript]

    @property
    def dead(self) -> bool:
        return self.hung_up_by is not None

    # -- running -------------------------------------------------------------------------

    def environment(self) -> str:
        """The block Asterisk 22 sends, field for field and in its order."""
        fields = [
            ("agi_network", "yes"),
            ("agi_network_script", self.script),
            ("agi_request", f"agi://{self.host}:{self.port}/{self.script}"),
            ("agi_channel", self.channel),
            ("agi_language", "en"),
            ("agi_type", self.channel.partition("/")[0]),
            ("agi_uniqueid", self.uniqueid),
            ("agi_version", "22.10.1"),
            ("agi_callerid", self.callerid or "unknown"),
            ("agi_calleridname", self.calleridname or "unknown"),
            ("agi_callingpres", "0" if self.callerid else "67"),
            ("agi_callingani2", "0"),
            ("agi_callington", "0"),
            ("agi_callingtns", "0"),
            ("agi_dnid", self.dnid),
            ("agi_rdnis", "unknown"),
            ("agi_context", self.context),
            ("agi_extension", self.extension),
            ("agi_priority", self.priority),
            ("agi_enhanced", "0.0"),
            ("agi_accountcode", ""),
            ("agi_threadid", "139645065287360"),
        ]
        fields += [(f"agi_arg_{n}", arg) for n, arg in enumerate(self.args, start=1)]
        return "".join(f"{key}: {value}\n" for key, value in fields) + "\n"

    async def run(self, timeout: float | None = 10.0) -> AsteriskEmulator:
        """Place the call and answer commands until the server closes the connection."""
        async with asyncio.timeout(timeout):
            reader, self._writer = await asyncio.open_connection(self.host, self.port)
            reading = asyncio.create_task(self._read_lines(reader))
            try:
                self._write_raw(self.environment())
                if self.hangup_after_seconds is not None:
                    self._later(self._hang_up_when_idle(self.hangup_after_seconds))
                await self._serve()
            finally:
                reading.cancel()
                for timer in list(self._timers):
                    timer.cancel()
                self._writer.close()
                with contextlib.suppress(ConnectionError):
                    await self._writer.wait_closed()
        return self

    async def _read_lines(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                data = await reader.readline()
            except ConnectionError:
                data = b""
            if not data.endswith(b"\n"):
                self._pending.append(None)
                self._arrived.set()
                return
            line = data.decode().rstrip("\r\n")
            self.wire.append((">>", line))
            self._pending.append(line)
            self._arrived.set()

    async def _next_line(self) -> str | None:
        while not self._pending:
            self._arrived.clear()
            await self._arrived.wait()
        return self._pending.popleft()

    async def _serve(self) -> None:
        while True:
            self._idle.set()
            line = await self._next_line()
            self._idle.clear()
            if line is None:
                self.closed_by_server = True
                return
            command = _parse_command(line)
            if command is not None and command.verb in self.unanswered:
                self.transcript.append((line, []))
                continue
            notice_due, self._deferred_notice = self._deferred_notice, False
            reply = await self._answer(command)
            if self.command_delay:
                await asyncio.sleep(self.command_delay)
            if self._pending and self._pending[0] is not None:
                # Asterisk stops the running command and never answers it.
                self.errors.append(f"{self._pending[0]!r} was sent before the reply to {line!r}")
                self.transcript.append((line, []))
                continue
            if notice_due:
                reply = [*self._notice(), *reply]
            self.transcript.append((line, reply))
            self._write_lines(reply)
            if "HANGUP" in reply:
                self._close_if_exiting()
            if self._writer is None or self._writer.is_closing():
                return
            self._answered += 1
            if self._answered == self.hangup_after_commands and not self.dead:
                self._caller_hangs_up(notice_now=True)

    # -- hang-ups --------------------------------------------------------------------------

    def _exit_on_hangup(self) -> bool:
        return self.variables.get("AGIEXITONHANGUP", "").lower() in _TRUE

    def _notice(self) -> list[str]:
        return ["HANGUP", "HANGUP"] if self._exit_on_hangup() else ["HANGUP"]

    def _caller_hangs_up(self, *, notice_now: bool) -> list[str]:
        """Mark the caller gone; returns the notice lines to send with the current reply."""
        self.hung_up_by = "caller"
        if notice_now:
            self._write_lines(self._notice())
            self._close_if_exiting()
            return []
        if self.hangup_notice == "with_reply":
            return self._notice()
        self._deferred_notice = True
        return []

    def _close_if_exiting(self) -> None:
        if self._exit_on_hangup() and self._writer is not None:
            self._writer.close()

    async def _hang_up_when_idle(self, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._idle.wait()
        if not self.dead:
            self._caller_hangs_up(notice_now=True)

    async def _server_hangup_notice(self) -> None:
        await asyncio.sleep(HANGUP_NOTICE_DELAY)
        self._write_lines(self._notice())
        self._close_if_exiting()

    def _later(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    # -- writing ---------------------------------------------------------------------------

    def _write_raw(self, text: str) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(text.encode())

    def _write_lines(self, lines: list[str]) -> None:
        if self._writer is None or self._writer.is_closing():
            return
        for line in lines:
            self.wire.append(("<<", line))
        self._write_raw("".join(f"{line}\n" for line in lines))

    # -- answering -------------------------------------------------------------------------

    def _play(self, name: str) -> None:
        self.played.append(("file", name))
        if self.on_play is not None:
            self.on_play(name)

    async def _input(self, command: EmulatedCommand) -> CallerInput:
        if self.on_prompt is not None:
            chosen = self.on_prompt(command)
            return await chosen if inspect.isawaitable(chosen) else chosen
        return self.inputs.popleft() if self.inputs else None

    async def _answer(self, command: EmulatedCommand | None) -> list[str]:
        if command is None:
            return [UNKNOWN]
        if command.verb in self.replies:
            return list(self.replies[command.verb])
        if self.dead and not command.verb.startswith(ALLOWED_AFTER_HANGUP):
            return [DEAD]
        usage, counts = _COMMANDS[command.verb]
        if len(command.args) not in counts:
            return [
                "520-Invalid command syntax.  Proper usage follows:",
                f" {usage}",
                "520 End of proper usage.",
            ]
        handler = getattr(self, "_do_" + command.verb.lower().replace(" ", "_"))
        return await handler(command)

    def _hangup_reply(self, reply: str) -> list[str]:
        return [reply, *self._caller_hangs_up(notice_now=False)]

    async def _do_answer(self, command: EmulatedCommand) -> list[str]:
        return ["200 result=0"]

    def _late_key(self, escape: str) -> str | None:
        """The late ``#`` if it is due now: it reaches this command when it listens for it,
        and is dropped by a command that does not."""
        late, self._late_end_key = self._late_end_key, False
        return END_KEY if late and END_KEY in escape else None

    async def _do_stream_file(self, command: EmulatedCommand) -> list[str]:
        name, escape = command.args[0], command.args[1]
        if name in self.missing_files:
            return ["200 result=-1 endpos=0"]
        self._play(name)
        late = self._late_key(escape)
        if late:
            return [f"200 result={ord(late)} endpos=0"]
        key = await self._input(command) if escape else None
        if key is HANGUP:
            return self._hangup_reply(f"200 result=-1 endpos={INTERRUPTED_ENDPOS}")
        if isinstance(key, str) and key and key[0] in escape:
            return [f"200 result={ord(key[0])} endpos={INTERRUPTED_ENDPOS}"]
        return [f"200 result=0 endpos={FULL_PLAY_ENDPOS}"]

    async def _do_get_data(self, command: EmulatedCommand) -> list[str]:
        self._play(command.args[0])
        max_digits = int(command.args[2]) if len(command.args) > 2 else 1024
        if self._late_key(END_KEY):  # the "#" ends GET DATA as it arrives, with no digits
            return ["200 result="]
        typed = await self._input(command)
        if typed is HANGUP:
            return self._hangup_reply("200 result=-1")
        if not isinstance(typed, str):
            return ["200 result= (timeout)"]
        digits, pound, _ = typed.partition("#")
        if pound and len(digits) >= max_digits:
            self._late_end_key = True  # GET DATA ended at the last digit; "#" comes later
        if pound or len(digits) >= max_digits:
            return [f"200 result={digits[:max_digits]}"]
        return [f"200 result={digits} (timeout)"]

    async def _do_wait_for_digit(self, command: EmulatedCommand) -> list[str]:
        late = self._late_key(END_KEY)
        key = late if late else await self._input(command)
        if key is HANGUP:
            return self._hangup_reply("200 result=-1")
        return [f"200 result={ord(key[0]) if isinstance(key, str) and key else 0}"]

    async def _do_say_digits(self, command: EmulatedCommand) -> list[str]:
        digits, escape = command.args
        self.played.append(("digits", digits))
        late = self._late_key(escape)
        key = late if late else await self._input(command) if escape else None
        if key is HANGUP:
            return self._hangup_reply("200 result=-1")
        if isinstance(key, str) and key and key[0] in escape:
            return [f"200 result={ord(key[0])}"]
        return ["200 result=0"]

    async def _do_record_file(self, command: EmulatedCommand) -> list[str]:
        name, file_format, escape = command.args[:3]
        late = self._late_key(escape)
        said = late if late else await self._input(command)
        samples = 0 if late else int(RECORDED_SECONDS * SAMPLE_RATE)
        path = Path(f"{name}.{file_format}")
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_tone(path, samples)
        self.recordings.append(path)
        if said is HANGUP:
            return self._hangup_reply(f"200 result=-1 (hangup) endpos={samples}")
        if isinstance(said, str) and said and said[0] in escape:
            return [f"200 result={ord(said[0])} (dtmf) endpos={samples}"]
        return [f"200 result=0 (timeout) endpos={samples}"]

    async def _do_set_variable(self, command: EmulatedCommand) -> list[str]:
        name, value = command.args
        self.variables[name] = value
        return ["200 result=1"]

    def _builtin(self, name: str) -> str | None:
        builtins = {
            "CHANNEL": self.channel,
            "UNIQUEID": self.uniqueid,
            "CONTEXT": self.context,
            "EXTEN": self.extension,
            "CALLERID(num)": self.callerid,
        }
        return self.variables.get(name, builtins.get(name))

    async def _do_get_variable(self, command: EmulatedCommand) -> list[str]:
        value = self._builtin(command.args[0])
        return ["200 result=0"] if value is None else [f"200 result=1 ({value})"]

    async def _do_get_full_variable(self, command: EmulatedCommand) -> list[str]:
        if len(command.args) == 2 and command.args[1] != self.channel:
            return ["200 result=0"]
        text = command.args[0]
        while (start := text.find("${")) >= 0 and (end := text.find("}", start)) >= 0:
            text = text[:start] + (self._builtin(text[start + 2 : end]) or "") + text[end + 1 :]
        return [f"200 result=1 ({text})"]

    async def _do_channel_status(self, command: EmulatedCommand) -> list[str]:
        return ["200 result=6"]

    async def _do_verbose(self, command: EmulatedCommand) -> list[str]:
        return ["200 result=1"]

    async def _do_noop(self, command: EmulatedCommand) -> list[str]:
        return ["200 result=0"]

    async def _do_exec(self, command: EmulatedCommand) -> list[str]:
        self.played.append(("exec", " ".join(command.args)))
        return ["200 result=0"]

    async def _do_set_context(self, command: EmulatedCommand) -> list[str]:
        self.context = command.args[0]
        return ["200 result=0"]

    async def _do_set_extension(self, command: EmulatedCommand) -> list[str]:
        self.extension = command.args[0]
        return ["200 result=0"]

    async def _do_set_priority(self, command: EmulatedCommand) -> list[str]:
        self.priority = command.args[0]
        return ["200 result=0"]

    async def _do_hangup(self, command: EmulatedCommand) -> list[str]:
        self.hung_up_by = "server"
        self._later(self._server_hangup_notice())
        return ["200 result=1"]

    async def _do_database_get(self, command: EmulatedCommand) -> list[str]:
        value = self.database.get((command.args[0], command.args[1]))
        return ["200 result=0"] if value is None else [f"200 result=1 ({value})"]

    async def _do_database_put(self, command: EmulatedCommand) -> list[str]:
        family, key, value = command.args
        self.database[(family, key)] = value
        return ["200 result=1"]

    async def _do_database_del(self, command: EmulatedCommand) -> list[str]:
        found = self.database.pop((command.args[0], command.args[1]), None) is not None
        return [f"200 result={int(found)}"]


def _write_tone(path: Path, samples: int) -> None:
    """A 440 Hz tone of ``samples`` samples, as a caller's message: 8 kHz mono 16-bit WAV."""
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / SAMPLE_RATE)))
        for n in range(samples)
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(frames)
