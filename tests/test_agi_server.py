"""AgiServer: routing, allow-list, concurrency cap, closing rules and graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any

import pytest

from atende.agi import AgiChannel, AgiProtocolError, AgiServer, Handler
from atende.agi.emulator import HANGUP, AsteriskEmulator
from atende.agi.protocol import MAX_REPLY_LINES


async def started(routes: dict[str, Handler], **options: Any) -> AgiServer:
    server = AgiServer("127.0.0.1", 0, **options)
    for script, handler in routes.items():
        server.route(script, handler)
    await server.start()
    return server


async def wait_until(condition: Any, seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.005)


async def until_closed(reader: asyncio.StreamReader) -> bytes:
    """What the server still sent before it closed the connection (a reset counts as closed)."""
    async with asyncio.timeout(5):  # a guard against a server that never closes, not a speed test
        try:
            return await reader.read()
        except ConnectionError:
            return b""


async def send_raw(port: int, data: bytes) -> bytes:
    """Connect, send ``data`` and return what the server answered before closing."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    try:
        return await until_closed(reader)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def protocol_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_routes_by_script_name_and_closes_after_the_handler_returns() -> None:
    seen: list[str] = []

    async def ura(channel: AgiChannel) -> None:
        seen.append("ura " + ",".join(channel.env.args))
        await channel.set_variable("NEXT", "queue")

    async def survey(channel: AgiChannel) -> None:
        seen.append("survey")

    async def main() -> tuple[AsteriskEmulator, AsteriskEmulator]:
        server = await started({"ura": ura, "survey": survey})
        try:
            first = await AsteriskEmulator(server.port, script="ura", args=["a", "b"]).run()
            second = await AsteriskEmulator(server.port, script="survey").run()
            return first, second
        finally:
            await server.stop(1)

    first, second = asyncio.run(main())
    assert seen == ["ura a,b", "survey"]
    # Returning without HANGUP hands the call back to the dialplan, variables kept.
    assert first.commands == ["SET VARIABLE NEXT queue"]
    assert first.closed_by_server and first.hung_up_by is None
    assert first.variables == {"NEXT": "queue"}
    assert second.commands == [] and second.closed_by_server


def test_unknown_script_gets_verbose_hangup_and_close(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> AsteriskEmulator:
        server = await started({"ura": lambda channel: asyncio.sleep(0)})
        try:
            return await AsteriskEmulator(server.port, script="nope").run()
        finally:
            await server.stop(1)

    fake = asyncio.run(main())
    assert fake.commands == ['VERBOSE "atende: no FastAGI script named nope" 1', "HANGUP"]
    assert fake.hung_up_by == "server" and fake.closed_by_server
    assert "nope" in caplog.text


def test_connection_from_outside_the_allow_list_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[AgiChannel] = []

    async def handler(channel: AgiChannel) -> None:
        ran.append(channel)

    async def main() -> AsteriskEmulator:
        server = await started({"ura": handler}, allow=["10.0.0.0/8"])
        try:
            return await AsteriskEmulator(server.port).run()
        finally:
            await server.stop(1)

    fake = asyncio.run(main())
    assert ran == []
    assert fake.transcript == [] and fake.closed_by_server
    refusals = [
        r for r in caplog.records if r.levelno == logging.WARNING and "refused" in r.message
    ]
    assert len(refusals) == 1 and "127.0.0.1" in refusals[0].message


def test_garbage_instead_of_an_environment_is_dropped() -> None:
    ran: list[AgiChannel] = []

    async def handler(channel: AgiChannel) -> None:
        ran.append(channel)

    async def main() -> bytes:
        server = await started({"ura": handler})
        try:
            return await send_raw(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        finally:
            await server.stop(1)

    assert asyncio.run(main()) == b""  # closed without a word
    assert ran == []


def test_a_first_line_past_the_reader_limit_closes_the_socket_and_leaks_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[AgiChannel] = []

    async def handler(channel: AgiChannel) -> None:
        ran.append(channel)

    async def main() -> tuple[list[bytes], int, int]:
        server = await started({"ura": handler})
        try:
            before = open_files()
            answers = [
                await send_raw(server.port, b"agi_network: " + b"x" * 70_000 + b"\n")
                for _ in range(20)
            ]
            return answers, before, open_files()
        finally:
            await server.stop(1)

    answers, before, after = asyncio.run(main())
    assert answers == [b""] * 20  # each closed without a word
    assert after == before  # no socket left open on the server's side
    assert ran == []
    records = protocol_records(caplog)
    assert len(records) == 20 and all("line longer than" in r.getMessage() for r in records)
    assert all(r.exc_info is None for r in caplog.records)


def test_an_endless_usage_reply_ends_the_call_after_a_bounded_read(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A ``520-`` reply that never ends: the server stops reading and closes the connection."""
    errors: list[Exception] = []

    async def handler(channel: AgiChannel) -> None:
        try:
            await channel.command("WAIT FOR DIGIT")
        except Exception as exc:
            errors.append(exc)
            raise

    async def endless_asterisk(port: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(AsteriskEmulator(port).environment().encode())
        command = await reader.readline()
        writer.write(b"520-Invalid command syntax.  Proper usage follows:\n")
        closed = asyncio.create_task(until_closed(reader))
        usage = b" Usage: WAIT FOR DIGIT <timeout>\n" * 100
        # Far more than any cap, yet the server would keep it all if it kept reading.
        for _ in range(200):
            if closed.done():
                break
            writer.write(usage)
            try:
                await writer.drain()
            except ConnectionError:
                break
        await closed
        writer.close()
        return command

    async def main() -> tuple[bytes, int]:
        server = await started({"ura": handler}, command_timeout=60)
        try:
            command = await endless_asterisk(server.port)
            await wait_until(lambda: server.active_calls == 0)
            return command, server.active_calls
        finally:
            await server.stop(1)

    command, active = asyncio.run(main())
    assert command == b"WAIT FOR DIGIT\n"
    assert active == 0
    [error] = errors
    assert isinstance(error, AgiProtocolError)
    assert f"longer than {MAX_REPLY_LINES} lines" in str(error)
    [record] = protocol_records(caplog)
    assert record.levelno == logging.ERROR and record.exc_info is None
    assert str(error) in record.getMessage()


@pytest.mark.parametrize(
    "reply",
    [
        "100 result=0 Trying...",
        "503 result=-2 Memory allocation failure",
        "300 result=12345678909",
        "HTTP/1.1 200 OK",
    ],
)
def test_a_reply_the_parser_does_not_know_ends_the_call(
    reply: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(channel: AgiChannel) -> None:
        await channel.answer()
        await channel.noop()  # never sent: the connection cannot be trusted any more

    async def main() -> AsteriskEmulator:
        server = await started({"ura": handler})
        try:
            return await AsteriskEmulator(server.port, replies={"ANSWER": [reply]}).run()
        finally:
            await server.stop(1)

    fake = asyncio.run(main())
    assert fake.commands == ["ANSWER"]
    assert fake.closed_by_server and fake.hung_up_by is None
    [record] = protocol_records(caplog)
    assert record.levelno == logging.ERROR and record.exc_info is None
    message = record.getMessage()
    assert "unexpected AGI reply" in message and reply[:3] in message
    assert "12345678909" not in caplog.text  # digits past the code may be keys typed


def test_over_the_cap_a_call_gets_the_busy_hook_then_hangup() -> None:
    release = asyncio.Event()
    counts: list[int] = []

    async def handler(channel: AgiChannel) -> None:
        await release.wait()

    async def busy(channel: AgiChannel) -> None:
        await channel.stream_file("all-lines-busy")

    async def main() -> tuple[AsteriskEmulator, AsteriskEmulator]:
        server = await started({"ura": handler}, max_calls=1, on_busy=busy)
        try:
            first = asyncio.create_task(AsteriskEmulator(server.port).run())
            await wait_until(lambda: server.active_calls == 1)
            second = await AsteriskEmulator(server.port).run()
            counts.append(server.active_calls)
            release.set()
            await first
            counts.append(server.active_calls)
            return first.result(), second
        finally:
            await server.stop(1)

    first, second = asyncio.run(main())
    assert second.commands == ['STREAM FILE all-lines-busy ""', "HANGUP"]
    assert second.closed_by_server
    assert first.commands == [] and first.closed_by_server
    assert counts == [1, 0]


def test_an_unknown_reply_to_the_busy_hook_is_logged_once_and_closes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = asyncio.Event()

    async def handler(channel: AgiChannel) -> None:
        await release.wait()

    async def busy(channel: AgiChannel) -> None:
        await channel.stream_file("all-lines-busy")

    async def main() -> AsteriskEmulator:
        server = await started({"ura": handler}, max_calls=1, on_busy=busy)
        try:
            first = asyncio.create_task(AsteriskEmulator(server.port).run())
            await wait_until(lambda: server.active_calls == 1)
            second = AsteriskEmulator(server.port, replies={"STREAM FILE": ["503 result=-2"]})
            await second.run()
            release.set()
            await first
            return second
        finally:
            await server.stop(1)

    second = asyncio.run(main())
    assert second.commands == ['STREAM FILE all-lines-busy ""']  # no HANGUP on a broken line
    assert second.closed_by_server
    problems = protocol_records(caplog)
    assert [r.exc_info for r in problems if r.levelno == logging.ERROR] == [None]
    assert "'503 result=-*'" in caplog.text


def test_caller_gone_in_a_handler_is_a_normal_end(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(channel: AgiChannel) -> None:
        await channel.answer()
        await channel.get_data("ask-code", 3000, 6)  # the caller hangs up here
        await channel.stream_file("never-heard")

    async def main() -> AsteriskEmulator:
        server = await started({"ura": handler})
        try:
            return await AsteriskEmulator(server.port, inputs=[HANGUP]).run()
        finally:
            await server.stop(1)

    fake = asyncio.run(main())
    assert fake.closed_by_server
    assert fake.commands == ["ANSWER", "GET DATA ask-code 3000 6"]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert all(r.exc_info is None for r in caplog.records)


def test_a_failing_handler_is_logged_with_traceback_and_hung_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(channel: AgiChannel) -> None:
        await channel.answer()
        raise RuntimeError("bug in the flow")

    async def main() -> tuple[AsteriskEmulator, int]:
        server = await started({"ura": handler})
        try:
            fake = await AsteriskEmulator(server.port).run()
            return fake, server.active_calls
        finally:
            await server.stop(1)

    fake, active = asyncio.run(main())
    assert fake.commands == ["ANSWER", "HANGUP"]
    assert fake.hung_up_by == "server" and fake.closed_by_server
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None
    assert "bug in the flow" in str(errors[0].exc_info[1])
    assert active == 0


def test_graceful_stop_lets_a_running_call_finish() -> None:
    async def handler(channel: AgiChannel) -> None:
        await channel.answer()
        await asyncio.sleep(0.2)
        await channel.set_variable("DONE", "1")

    async def main() -> tuple[AsteriskEmulator, bool]:
        server = await started({"ura": handler})
        port = server.port
        call = asyncio.create_task(AsteriskEmulator(port).run())
        await wait_until(lambda: server.active_calls == 1)
        await server.stop(grace_seconds=5)
        fake = await call
        try:
            await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return fake, True
        return fake, False

    fake, refused_after_stop = asyncio.run(main())
    assert fake.variables == {"DONE": "1"}
    assert fake.closed_by_server
    assert refused_after_stop


def test_stop_cancels_calls_past_the_grace_period() -> None:
    async def handler(channel: AgiChannel) -> None:
        await channel.answer()
        await asyncio.sleep(60)

    async def main() -> tuple[AsteriskEmulator, int]:
        server = await started({"ura": handler})
        call = asyncio.create_task(AsteriskEmulator(server.port).run())
        await wait_until(lambda: server.active_calls == 1)
        await server.stop(grace_seconds=0.05)
        return await call, server.active_calls

    fake, active = asyncio.run(main())
    assert fake.commands == ["ANSWER"]
    assert fake.closed_by_server and fake.hung_up_by is None  # back to the dialplan
    assert active == 0
