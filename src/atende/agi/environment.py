"""The ``agi_*`` block Asterisk sends first on every FastAGI connection, as a typed value.

Asterisk writes one ``agi_name: value`` line per variable and ends the block with an empty
line. Two quirks matter: empty values keep the separator (``agi_accountcode: ``), and a missing
caller id is the literal string ``unknown`` rather than an empty value.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from atende.agi.errors import AgiProtocolError, CallerGone
from atende.agi.lines import read_line

MAX_ENVIRONMENT_LINES = 256
_UNKNOWN = "unknown"
_ARG_KEY = re.compile(r"agi_arg_([0-9]+)")


@dataclass(frozen=True, slots=True)
class AgiEnvironment:
    """What Asterisk tells about the call. Personal fields are kept out of ``repr``."""

    network_script: str
    request: str
    channel: str
    uniqueid: str
    callerid: str | None = field(repr=False)
    calleridname: str | None = field(repr=False)
    dnid: str
    context: str
    extension: str
    priority: str
    language: str
    version: str
    args: list[str] = field(default_factory=list, repr=False)
    raw: dict[str, str] = field(default_factory=dict, repr=False)


def _known(value: str) -> str | None:
    return None if value in ("", _UNKNOWN) else value


def parse_environment(lines: Iterable[str]) -> AgiEnvironment:
    """Build an AgiEnvironment from the block's lines (without the final empty line)."""
    raw: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if not sep or not key.startswith("agi_"):
            raise AgiProtocolError(f"not an AGI environment line: {line[:40]!r}")
        raw[key] = value.removeprefix(" ")
    numbered = sorted(
        (int(match[1]), value) for key, value in raw.items() if (match := _ARG_KEY.fullmatch(key))
    )
    return AgiEnvironment(
        network_script=raw.get("agi_network_script", "").strip("/"),
        request=raw.get("agi_request", ""),
        channel=raw.get("agi_channel", ""),
        uniqueid=raw.get("agi_uniqueid", ""),
        callerid=_known(raw.get("agi_callerid", "")),
        calleridname=_known(raw.get("agi_calleridname", "")),
        dnid=raw.get("agi_dnid", ""),
        context=raw.get("agi_context", ""),
        extension=raw.get("agi_extension", ""),
        priority=raw.get("agi_priority", ""),
        language=raw.get("agi_language", ""),
        version=raw.get("agi_version", ""),
        args=[value for _, value in numbered],
        raw=raw,
    )


async def read_environment(reader: asyncio.StreamReader) -> AgiEnvironment:
    """Read the block up to its empty line; CallerGone if the connection ends before it,
    AgiProtocolError when a line or the block is too long."""
    lines: list[str] = []
    while True:
        line = await read_line(reader)
        if line is None:
            raise CallerGone("connection closed before the AGI environment ended")
        if not line:
            return parse_environment(lines)
        if len(lines) >= MAX_ENVIRONMENT_LINES:
            raise AgiProtocolError("AGI environment too long")
        lines.append(line)


def mask_callerid(callerid: str | None) -> str:
    """A caller id fit for logs: only its last four digits, as card numbers are shown."""
    if not callerid:
        return "none"
    return "*" * max(len(callerid) - 4, 2) + callerid[-4:] if len(callerid) > 6 else "***"
