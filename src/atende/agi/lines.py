"""Reading one line from Asterisk, bounded: the one place a FastAGI connection is read.

asyncio's ``StreamReader.readline()`` raises a bare ``ValueError`` when a line is longer than
the reader's limit (64 KiB by default) and returns a partial line at the end of the stream.
Both the environment block and the replies need the same answer to those cases, in the
layer's own error types, so that every caller ends the connection cleanly.
"""

from __future__ import annotations

import asyncio

from atende.agi.errors import AgiProtocolError


async def read_line(reader: asyncio.StreamReader) -> str | None:
    """The next line without its line break; None when the connection ended first.

    AgiProtocolError when the line is longer than the reader's limit.
    """
    try:
        data = await reader.readline()
    except ValueError:  # asyncio's LimitOverrunError, turned into ValueError by readline()
        raise AgiProtocolError("line longer than the limit of the connection") from None
    if not data.endswith(b"\n"):
        return None
    return data.decode("utf-8", errors="replace").rstrip("\r\n")
