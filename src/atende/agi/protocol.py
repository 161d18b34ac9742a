"""The FastAGI wire protocol: replies, argument quoting and a typed command channel.

Written by hand because no library does this well: panoramisk's ``fast_agi`` is a thin layer
unmaintained since 2021 (no hang-up tracking, no typed helpers, no command timeout) and pyst2
is synchronous and built for the stdin/stdout CGI form of AGI. What this module gets right, as
observed on Asterisk 22 (see ``asterisk-agi-transcript.md``):

- every reply form: ``200 result=N [(data)] [endpos=N]`` (the result may be empty), ``510``,
  ``511`` (dead channel), multi-line ``520-`` ... ``520 End of proper usage.``; any other
  line, or a reply longer than ``MAX_REPLY_LINES``/``MAX_REPLY_SIZE``, is an AgiProtocolError
  that leaves the connection unusable (memory stays bounded whatever the peer sends);
- the bare ``HANGUP`` line, which can arrive while idle, right after ``200 result=-1`` or before
  the reply of the next command: it is skipped and remembered wherever it shows up;
- one command in flight at a time: a second command sent early makes Asterisk drop the first;
- after a hang-up only a few commands still work; the others fail here without a round trip;
- a per-command timeout, so a silent peer cannot hold a call task forever.

Personal data stays out of the logs: commands are logged at DEBUG with every digit masked, and
the replies of commands that carry keys or variable values are logged by their code only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

from atende.agi.environment import AgiEnvironment
from atende.agi.errors import (
    AgiCommandError,
    AgiProtocolError,
    AgiTimeout,
    CallerGone,
    PlaybackFailed,
)
from atende.agi.lines import read_line
from atende.domain.digits import is_digits

log = logging.getLogger(__name__)

# Commands Asterisk still answers with 200 once the channel is hung up.
ALLOWED_AFTER_HANGUP = (
    "GET VARIABLE",
    "GET FULL VARIABLE",
    "SET VARIABLE",
    "EXEC",
    "NOOP",
    "VERBOSE",
    "DATABASE",
)
# Commands whose replies carry keys typed or variable values: never logged in full.
_SECRET_REPLIES = (
    "RECORD FILE",
    "STREAM FILE",
    "GET DATA",
    "WAIT FOR DIGIT",
    "SAY DIGITS",
    "GET VARIABLE",
    "GET FULL VARIABLE",
)
_REPLY_200 = re.compile(
    r"200 result=(?P<result>\S*)(?: \((?P<data>.*)\))?(?: endpos=(?P<endpos>-?\d+))?"
)
_NEEDS_QUOTES = re.compile(r'[\s"\\]')
_DIGIT = re.compile(r"\d")
_HANGUP_LINE = "HANGUP"
_USAGE_END = "520 "
# Rejections that leave the channel usable (a single-line 520 comes when a command has no
# usage text).
_COMMAND_ERRORS = ("510", "520")
# One reply, hang-up notices and a 520 usage text included: Asterisk's longest is a few lines.
MAX_REPLY_LINES = 64
MAX_REPLY_SIZE = 64 * 1024  # characters; Asterisk speaks ASCII, so about bytes
_LOGGED_REPLY_CHARS = 60


@dataclass(frozen=True, slots=True)
class Recorded:
    """How RECORD FILE ended: ``dtmf`` (``key`` pressed), ``timeout`` (silence or the time
    limit: Asterisk says the same for both), ``hangup``; ``samples`` recorded (8 kHz)."""

    ended_by: str
    key: str | None
    samples: int


@dataclass(frozen=True, slots=True)
class AgiReply:
    """One reply. ``result`` stays a string: GET DATA digits keep leading zeros, and may be ""."""

    code: int
    result: str
    data: str | None = None
    endpos: int | None = None

    @property
    def number(self) -> int:
        """The result as an integer, for the commands whose result is a code."""
        return int(self.result)


def quote(arg: str | int) -> str:
    """One command argument as Asterisk's parser reads it back (double quotes, backslashes)."""
    text = str(arg)
    if "\n" in text or "\r" in text:
        raise ValueError("an AGI argument cannot contain a line break")
    if text and not _NEEDS_QUOTES.search(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_command(verb: str, *args: str | int) -> str:
    """The command line (without its newline): the verb as is, each argument quoted."""
    return " ".join([verb, *(quote(arg) for arg in args)])


def parse_reply_line(line: str) -> AgiReply:
    """Parse a single ``200 ...`` line; AgiProtocolError when it is not one."""
    match = _REPLY_200.fullmatch(line)
    if match is None:
        raise AgiProtocolError(f"unexpected AGI reply: {_describe(line)}")
    endpos = match["endpos"]
    return AgiReply(200, match["result"], match["data"], int(endpos) if endpos else None)


def _mask(text: str) -> str:
    return _DIGIT.sub("*", text)


def _describe(line: str) -> str:
    """A reply line fit for a log: escaped, capped, its status code kept and every other digit
    masked (a malformed line may still carry keys typed or a variable's value)."""
    code, space, rest = line.partition(" ")
    shown = code + space + _mask(rest) if len(code) == 3 and is_digits(code) else _mask(line)
    if len(shown) > _LOGGED_REPLY_CHARS:
        return repr(shown[:_LOGGED_REPLY_CHARS]) + "..."
    return repr(shown)


class AgiChannel:
    """One call as seen over FastAGI: typed commands, one at a time, hang-up aware.

    ``command_timeout`` (seconds) bounds every command; commands that wait for the caller get
    their own wait on top of it, and ``stream_file``/``exec`` accept a ``timeout`` of their own
    (``math.inf`` waits forever, for a queue). When a timeout fires the call is dead for good.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        env: AgiEnvironment,
        *,
        command_timeout: float = 30.0,
    ) -> None:
        self.env = env
        self.command_timeout = command_timeout
        self._reader = reader
        self._writer = writer
        self._lock = asyncio.Lock()
        self._hung_up = False
        self._broken: str | None = None

    @property
    def hung_up(self) -> bool:
        """True once the caller (or this server) hung up, or the connection is unusable."""
        return self._hung_up or self._broken is not None

    # -- raw protocol ---------------------------------------------------------------------

    async def command(self, verb: str, *args: str | int, timeout: float | None = None) -> AgiReply:
        """Send one command and return its 200 reply.

        Raises CallerGone (511, closed socket, or a dead channel for a command Asterisk would
        refuse anyway), AgiTimeout, AgiCommandError (510/520) or AgiProtocolError.
        """
        line = format_command(verb, *args)
        limit = self.command_timeout if timeout is None else timeout
        upper = verb.upper()
        async with self._lock:
            if self._broken is not None:
                raise CallerGone(self._broken)
            if self._hung_up and not upper.startswith(ALLOWED_AFTER_HANGUP):
                raise CallerGone(f"caller hung up; {upper} needs a live channel")
            debug = log.isEnabledFor(logging.DEBUG)
            if debug:
                log.debug(">> %s", _mask(line))
            try:
                async with asyncio.timeout(None if math.isinf(limit) else limit):
                    self._writer.write(line.encode() + b"\n")
                    await self._writer.drain()
                    reply = await self._read_reply()
            except TimeoutError:
                self._broken = f"no reply to {upper} within {limit:g} s"
                log.warning(
                    "call %s: %s; treating the call as dead", self.env.uniqueid, self._broken
                )
                raise AgiTimeout(self._broken) from None
            except ConnectionError as exc:
                self._broken = f"connection lost: {exc}"
                raise CallerGone(self._broken) from exc
            except AgiProtocolError as exc:
                self._broken = str(exc)
                raise
            if debug and upper.startswith(_SECRET_REPLIES):
                log.debug("<< %d (reply not logged)", reply.code)
            elif debug:
                log.debug("<< %s", _mask(f"{reply.code} result={reply.result}"))
            return reply

    async def _reply_lines(self) -> AsyncGenerator[str, None]:
        """The lines of one reply, up to MAX_REPLY_LINES lines and MAX_REPLY_SIZE characters."""
        size = 0
        for _ in range(MAX_REPLY_LINES):
            line = await read_line(self._reader)
            if line is None:
                self._broken = "Asterisk closed the connection"
                raise CallerGone(self._broken)
            size += len(line) + 1
            if size > MAX_REPLY_SIZE:
                raise AgiProtocolError(f"AGI reply longer than {MAX_REPLY_SIZE} characters")
            yield line
        raise AgiProtocolError(f"AGI reply longer than {MAX_REPLY_LINES} lines")

    async def _read_reply(self) -> AgiReply:
        async with contextlib.aclosing(self._reply_lines()) as lines:
            return await self._parse_reply(lines)

    async def _parse_reply(self, lines: AsyncIterator[str]) -> AgiReply:
        line = await anext(lines)
        while line == _HANGUP_LINE:
            self._hung_up = True
            line = await anext(lines)
        if line.startswith("200 "):
            return parse_reply_line(line)
        if line.startswith("511 "):
            self._hung_up = True
            raise CallerGone(line[4:])
        if line.startswith("520-"):
            usage = [line[4:]]
            while not (line := await anext(lines)).startswith(_USAGE_END):
                usage.append(line)
            usage.append(line[4:])
            raise AgiCommandError(520, "\n".join(usage))
        code, _, text = line.partition(" ")
        if code in _COMMAND_ERRORS:
            raise AgiCommandError(int(code), text)
        raise AgiProtocolError(f"unexpected AGI reply: {_describe(line)}")

    async def close(self) -> None:
        """Close the connection (Asterisk never does): the call returns to the dialplan."""
        self._broken = self._broken or "connection closed by the server"
        self._writer.close()
        try:
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()
        except TimeoutError:
            self._writer.transport.abort()
        except ConnectionError:
            pass

    # -- typed helpers --------------------------------------------------------------------

    async def answer(self) -> None:
        if (await self.command("ANSWER")).number < 0:
            self._hung_up = True
            raise CallerGone("could not answer: channel gone")

    async def stream_file(
        self, path: str, escape_digits: str = "", *, timeout: float | None = None
    ) -> str | None:
        """Play ``path`` (no extension, or a URL); the key that interrupted it, or None.

        Asterisk answers ``result=-1`` both when the caller hangs up and when the file cannot
        be played; a CHANNEL STATUS (refused on a dead channel) tells which: CallerGone or
        PlaybackFailed.
        """
        reply = await self.command("STREAM FILE", path, escape_digits, timeout=timeout)
        if reply.number >= 0:
            return self._key(reply)
        with contextlib.suppress(AgiCommandError):
            await self.channel_status()
        raise PlaybackFailed(f"Asterisk could not play {path!r}")

    async def get_data(self, path: str, timeout_ms: int, max_digits: int) -> tuple[str, bool]:
        """Play ``path`` and collect up to ``max_digits`` keys (``#`` ends early, never included).

        Returns (digits, timed_out); timed_out is True when the caller stopped typing before
        ``max_digits`` and ``#``.
        """
        wait = self.command_timeout + timeout_ms / 1000 * max(max_digits, 1)
        reply = await self.command("GET DATA", path, timeout_ms, max_digits, timeout=wait)
        if reply.result == "-1":
            self._hung_up = True
            raise CallerGone("caller hung up")
        return reply.result, reply.data == "timeout"

    async def record_file(
        self,
        path: str,
        file_format: str,
        escape_digits: str,
        timeout_ms: int,
        *,
        beep: bool = False,
        silence_s: int | None = None,
    ) -> Recorded:
        """Record the caller into ``path`` + ``.`` + ``file_format`` until a key of
        ``escape_digits``, ``timeout_ms``, ``silence_s`` seconds of silence, or a hang-up.

        Asterisk answers ``200 result=<key> (dtmf|timeout|hangup) endpos=<samples>``; a
        hang-up is returned, not raised (what was said is kept), and marks the channel gone.
        A file Asterisk cannot write (``result=-1 (writefile)``) is PlaybackFailed.
        """
        args: list[str | int] = [path, file_format, escape_digits, timeout_ms]
        if beep:
            args.append("BEEP")
        if silence_s:
            args.append(f"s={silence_s}")
        wait = self.command_timeout + max(timeout_ms, 0) / 1000
        reply = await self.command("RECORD FILE", *args, timeout=wait)
        ended_by = reply.data or ""
        if ended_by == "hangup" or (reply.result == "-1" and ended_by != "writefile"):
            self._hung_up = True
            return Recorded("hangup", None, reply.endpos or 0)
        if reply.number < 0 or ended_by not in ("dtmf", "timeout"):
            raise PlaybackFailed(f"Asterisk could not record to {path!r}: {ended_by}")
        key = chr(reply.number) if ended_by == "dtmf" and reply.number > 0 else None
        return Recorded(ended_by, key, reply.endpos or 0)

    async def wait_for_digit(self, timeout_ms: int) -> str | None:
        """Wait for one key; None when ``timeout_ms`` passes (-1 waits forever)."""
        wait = math.inf if timeout_ms < 0 else self.command_timeout + timeout_ms / 1000
        return self._key(await self.command("WAIT FOR DIGIT", timeout_ms, timeout=wait))

    async def say_digits(self, digits: str, escape_digits: str = "") -> str | None:
        """Say ``digits`` one by one; the key that interrupted, or None."""
        return self._key(await self.command("SAY DIGITS", digits, escape_digits))

    async def set_variable(self, name: str, value: str) -> None:
        await self.command("SET VARIABLE", name, value)

    async def get_variable(self, name: str) -> str | None:
        """A channel variable or dialplan function's value; None when unset."""
        reply = await self.command("GET VARIABLE", name)
        return reply.data if reply.number == 1 else None

    async def get_full_variable(self, expression: str, channel: str | None = None) -> str | None:
        """``expression`` with ``${...}`` expanded, on this channel or ``channel``; None when
        that channel does not exist."""
        args = (expression,) if channel is None else (expression, channel)
        reply = await self.command("GET FULL VARIABLE", *args)
        return (reply.data or "") if reply.number == 1 else None

    async def exec(self, app: str, *args: str | int, timeout: float | None = None) -> int:
        """Run a dialplan application; its result (0 even when Playback failed, -1 when a
        Queue call ended). Read the application's status variable to know more."""
        options = (",".join(str(arg) for arg in args),) if args else ()
        return (await self.command("EXEC", app, *options, timeout=timeout)).number

    async def set_context(self, context: str) -> None:
        await self.command("SET CONTEXT", context)

    async def set_extension(self, extension: str) -> None:
        await self.command("SET EXTENSION", extension)

    async def set_priority(self, priority: str | int) -> None:
        await self.command("SET PRIORITY", priority)

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.command("VERBOSE", message, level)

    async def noop(self) -> None:
        await self.command("NOOP")

    async def hangup(self) -> None:
        """Hang the call up; nothing to do when the caller is already gone."""
        if self.hung_up:
            return
        await self.command("HANGUP")
        self._hung_up = True

    async def channel_status(self) -> int:
        """The channel state (6 = up)."""
        return (await self.command("CHANNEL STATUS")).number

    def _key(self, reply: AgiReply) -> str | None:
        """The key an interruptible command returned (its ASCII code), None for no key."""
        code = reply.number
        if code < 0:
            self._hung_up = True
            raise CallerGone("caller hung up")
        return chr(code) if code else None
