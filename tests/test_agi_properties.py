"""Property tests of what the FastAGI layer reads from Asterisk: reply lines and the ``agi_*``
environment block. Whatever the peer sends, the layer answers with a value or its own error
type (AgiError), never another exception."""

from __future__ import annotations

import asyncio
import re
import socket

from hypothesis import example, given, settings
from hypothesis import strategies as st

from atende.agi import AgiChannel, AgiEnvironment, AgiError, AgiProtocolError, AgiReply
from atende.agi.environment import parse_environment, read_environment
from atende.agi.protocol import parse_reply_line

EXAMPLES = settings(max_examples=100, deadline=None)

# What a line can hold: anything but its line break (Asterisk ends lines with \n).
line_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
    max_size=80,
)
results = st.from_regex(r"-?[0-9]{0,12}", fullmatch=True)
# Lines shaped like replies, near misses included, so that every branch of the reader is hit.
reply_like = st.builds(
    str.__add__,
    st.sampled_from(["", "200 result=", "200 ", "510 ", "511 ", "520-", "520 ", "503 ", "HANGUP"]),
    line_text,
)
env_keys = st.builds(
    str.__add__,
    st.sampled_from(["agi_", "agi_arg_"]),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=":\r\n"),
        max_size=20,
    ),
).filter(lambda key: not re.fullmatch(r"agi_arg_[0-9]+", key))


@EXAMPLES
@given(
    result=results,
    data=st.none() | line_text,
    endpos=st.none() | st.integers(min_value=-(10**12), max_value=10**12),
)
def test_a_valid_200_line_round_trips(result: str, data: str | None, endpos: int | None) -> None:
    line = f"200 result={result}"
    line += "" if data is None else f" ({data})"
    line += "" if endpos is None else f" endpos={endpos}"
    assert parse_reply_line(line) == AgiReply(200, result, data, endpos)


@EXAMPLES
@given(line=st.text() | reply_like)
def test_any_line_parses_or_is_a_protocol_error(line: str) -> None:
    try:
        reply = parse_reply_line(line)
    except AgiProtocolError:
        return
    assert reply.code == 200 and line.startswith("200 result=")


async def reply_to_noop(data: bytes) -> AgiReply | AgiError:
    """What ``NOOP`` ends with when Asterisk's side of a real socket sends ``data``, then EOF."""
    ours, theirs = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=ours)
    channel = AgiChannel(reader, writer, parse_environment(["agi_network_script: ura"]))
    theirs.sendall(data)
    theirs.shutdown(socket.SHUT_WR)
    try:
        return await channel.command("NOOP")
    except AgiError as exc:
        return exc
    finally:
        await channel.close()
        theirs.close()


@EXAMPLES
@given(lines=st.lists(st.text() | reply_like, max_size=8), ending=st.sampled_from(["\n", ""]))
def test_any_bytes_from_asterisk_end_in_a_reply_or_an_agi_error(
    lines: list[str], ending: str
) -> None:
    data = ("\n".join(lines) + ending).encode("utf-8", errors="surrogatepass")
    outcome = asyncio.run(reply_to_noop(data))
    assert isinstance(outcome, AgiReply | AgiError)


def fed(data: bytes, limit: int = 2**16) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=limit)
    reader.feed_data(data)
    reader.feed_eof()
    return reader


@EXAMPLES
@example(named={"agi_arg_\u00b2": "superscript two is a digit, not a decimal"}, args=["a"])
@given(
    named=st.dictionaries(env_keys, line_text, max_size=30),
    args=st.lists(line_text, max_size=12),
)
def test_any_agi_block_reads_into_the_same_mapping(named: dict[str, str], args: list[str]) -> None:
    # Arguments written last to first: they are read back in numeric order all the same.
    numbered = {f"agi_arg_{n}": value for n, value in reversed(list(enumerate(args, start=1)))}
    block = named | numbered
    text = "".join(f"{key}: {value}\n" for key, value in block.items()) + "\n"

    async def read() -> AgiEnvironment:
        return await read_environment(fed(text.encode()))

    env = asyncio.run(read())
    assert env.raw == block
    assert env.args == args


@EXAMPLES
@given(data=st.binary(max_size=400), limit=st.sampled_from([16, 2**16]))
def test_garbage_instead_of_an_environment_is_an_agi_error(data: bytes, limit: int) -> None:
    async def read() -> AgiEnvironment | AgiError:
        try:
            return await read_environment(fed(data, limit))
        except AgiError as exc:
            return exc

    assert isinstance(asyncio.run(read()), AgiEnvironment | AgiError)
