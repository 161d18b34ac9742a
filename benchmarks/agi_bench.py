"""Bare command rate of the FastAGI layer, against a bare asyncio line echo as the ceiling.

The load comes from a second process on loopback (so client and server do not share a CPU
core's event loop): ``--calls`` connections of ``--commands`` round trips each, bounded by
``--timeout``. Two runs in one invocation:

- echo: a bare asyncio line-echo server; the client sends ``NOOP`` lines and times each echo;
- agi: ``AgiServer`` with a handler sending ``--commands`` commands (``noop`` or
  ``stream_file``), timed in the handler, to a minimal client that answers ``200 result=0``.

Run: ``.venv/bin/python benchmarks/agi_bench.py [--calls 50 --commands 2000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time

from atende.agi import AgiChannel, AgiServer

ENVIRONMENT = (
    b"agi_network: yes\nagi_network_script: bench\nagi_request: agi://127.0.0.1/bench\n"
    b"agi_channel: Local/bench@ivr-00000001;2\nagi_uniqueid: 1.1\nagi_callerid: unknown\n"
    b"agi_accountcode: \n\n"
)


def summary(latencies: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return {"p50_us": cuts[49] * 1e6, "p99_us": cuts[98] * 1e6}


# -- client process -------------------------------------------------------------------------


async def echo_client(port: int, commands: int, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(commands):
        started = time.perf_counter()
        writer.write(b"NOOP\n")
        await reader.readline()
        latencies.append(time.perf_counter() - started)
    writer.close()


async def agi_client(port: int) -> None:
    """The fastest possible Asterisk: every command gets ``200 result=0`` at once."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(ENVIRONMENT)
    while await reader.readline():
        writer.write(b"200 result=0\n")
    writer.close()


async def client(mode: str, port: int, calls: int, commands: int) -> dict[str, float]:
    latencies: list[float] = []
    started = time.perf_counter()
    if mode == "echo":
        await asyncio.gather(*(echo_client(port, commands, latencies) for _ in range(calls)))
    else:
        await asyncio.gather(*(agi_client(port) for _ in range(calls)))
    result = {"elapsed": time.perf_counter() - started}
    return result | summary(latencies) if latencies else result


# -- server process -------------------------------------------------------------------------


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while line := await reader.readline():
        writer.write(line)
    writer.close()


async def load(mode: str, port: int, args: argparse.Namespace) -> dict[str, float]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--client",
        mode,
        "--port",
        str(port),
        "--calls",
        str(args.calls),
        "--commands",
        str(args.commands),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(args.timeout):
            output, _ = await process.communicate()
    except TimeoutError:
        process.kill()
        raise
    return json.loads(output)


async def run_echo(args: argparse.Namespace) -> dict[str, float]:
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    async with server:
        return await load("echo", server.sockets[0].getsockname()[1], args)


async def run_agi(args: argparse.Namespace) -> dict[str, float]:
    latencies: list[float] = []

    async def handler(channel: AgiChannel) -> None:
        command = channel.noop if args.command == "noop" else lambda: channel.stream_file("beep")
        for _ in range(args.commands):
            started = time.perf_counter()
            await command()
            latencies.append(time.perf_counter() - started)

    server = AgiServer("127.0.0.1", 0, max_calls=args.calls)
    server.route("bench", handler)
    await server.start()
    try:
        result = await load("agi", server.port, args)
    finally:
        await server.stop(1)
    return result | summary(latencies)


def report(name: str, result: dict[str, float], total: int) -> float:
    rate = total / result["elapsed"]
    print(
        f"{name:<28} {rate:>10,.0f} commands/s   "
        f"p50 {result['p50_us']:>7.0f} us   p99 {result['p99_us']:>7.0f} us"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50, help="concurrent connections")
    parser.add_argument("--commands", type=int, default=2000, help="round trips per call")
    parser.add_argument("--command", choices=["noop", "stream_file"], default="noop")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per run, at most")
    parser.add_argument("--client", choices=["echo", "agi"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        print(json.dumps(asyncio.run(client(args.client, args.port, args.calls, args.commands))))
        return
    total = args.calls * args.commands
    print(f"{args.calls} calls x {args.commands} round trips, client in a second process")
    ceiling = report("asyncio line echo (ceiling)", asyncio.run(run_echo(args)), total)
    rate = report(f"AgiServer {args.command}()", asyncio.run(run_agi(args)), total)
    print(f"AGI / echo: {rate / ceiling:.2f} (target: at least 0.33)")


if __name__ == "__main__":
    main()
