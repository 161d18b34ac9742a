"""AgiServer: routing, allow-list, concurrency cap, closing rules and graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from atende.agi import AgiChannel, AgiServer, Handler
from atende.agi.emulator import HANGUP, AsteriskEmulator


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
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            async with asyncio.timeout(5):
                answer = await reader.read()
            writer.close()
            return answer
        finally:
            await server.stop(1)

    assert asyncio.run(main()) == b""  # closed without a word
    assert ran == []


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
