"""Whole open-ticket calls through one ``atende serve`` process, against a bare line server.

The AGI layer alone is measured by ``agi_bench.py``; this one answers the product question:
how many callers can one process serve, and how long does a caller wait for the server after
pressing a key? A load generator in a second process on loopback plays Asterisk: it sends the
``agi_*`` environment block like Asterisk 22 (see the AGI transcript), answers every command
the way Asterisk does, and presses keys by what each prompt *says* (the ``.txt`` kept beside
each audio file in the server's data directory, which this benchmark owns):

    main menu "1" -> "Você é Maria da Silva?" "1" -> category "3" -> item "1"
    -> protocol read back, no key -> goodbye -> the server hangs up

(caller id 2001 is the demo person 1001's extension, and ``ATENDE_OTP=never``). Paced calls
wait about a second (0.8-1.2 s) before answering each STREAM FILE or GET DATA, as if the
prompt played and a person reacted; unpaced calls answer at once.

Server reply time is the time from the client writing its reply to the next command arriving:
the server's own work for that step. It is reported per step, named by what arrives next
(``protocol`` = the ticket is opened and its number synthesized, since it is new every call).

In the same run the same client, with the same settings, drives a bare asyncio line server
that replays the command lines of a recorded call (one line in, the next line out, no other
work): the ceiling of this machine, loopback and client. After each atende run the tickets in
its SQLite database are counted against the calls the client completed.

Run: ``.venv/bin/python benchmarks/ura_bench.py paced`` (500 callers, 1000 calls) and
``.venv/bin/python benchmarks/ura_bench.py unpaced`` (50 callers, 10 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shlex
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ATENDE = ROOT / ".venv" / "bin" / "atende"
CALLER_ID = "2001"
PRESETS: dict[str, dict[str, float]] = {
    "paced": {"concurrency": 500, "calls": 1000, "duration": 60, "pace": 1.0, "ramp": 5},
    "unpaced": {"concurrency": 50, "calls": 5000, "duration": 10, "pace": 0.0, "ramp": 0},
}
# (label, words the prompt says, key the caller presses during it)
PROMPTS: list[tuple[str, str, str]] = [
    ("main_menu", "abrir um chamado", "1"),
    ("confirm_name", "Você é Maria da Silva", "1"),
    ("category", "tipo de serviço", "3"),
    ("item", "serviço de Impressoras", "1"),
    ("protocol", "ouvir o número novamente", ""),
    ("greeting", "Você ligou para o atendimento", ""),
    ("goodbye", "Obrigado por ligar", ""),
]
OPEN_TICKET = ["main_menu", "confirm_name", "category", "item", "protocol"]
UNCACHED = {"protocol"}  # a new ticket's number: synthesized while the caller waits
COMMAND_TIMEOUT_S = 30.0
MAX_ERROR_SAMPLES = 5


def environment(uniqueid: str, port: int) -> bytes:
    """The block Asterisk 22 sends when a FastAGI connection opens (ends with a blank line)."""
    lines = [
        "agi_network: yes",
        "agi_network_script: ura",
        f"agi_request: agi://127.0.0.1:{port}/ura",
        f"agi_channel: PJSIP/bench-{uniqueid.replace('.', '')}",
        "agi_language: en",
        "agi_type: PJSIP",
        f"agi_uniqueid: {uniqueid}",
        "agi_version: 22.10.1",
        f"agi_callerid: {CALLER_ID}",
        "agi_calleridname: unknown",
        "agi_callingpres: 0",
        "agi_callingani2: 0",
        "agi_callington: 0",
        "agi_callingtns: 0",
        "agi_dnid: 100",
        "agi_rdnis: unknown",
        "agi_context: ivr",
        "agi_extension: 100",
        "agi_priority: 3",
        "agi_enhanced: 0.0",
        "agi_accountcode: ",
        "agi_threadid: 139645065287360",
    ]
    return ("\n".join(lines) + "\n\n").encode()


def cuts(values: list[float]) -> dict[str, float]:
    """Count, p50 and p99 (ms) of durations in seconds."""
    if len(values) < 2:
        only = values[0] * 1e3 if values else 0.0
        return {"n": len(values), "p50_ms": only, "p99_ms": only}
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"n": len(values), "p50_ms": q[49] * 1e3, "p99_ms": q[98] * 1e3}


# -- the load generator (a second process) --------------------------------------------------


@dataclass
class Load:
    """What the client measured over one run."""

    port: int
    pace: float
    rng: random.Random
    gaps: dict[str, list[float]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # audio path -> prompt label
    completed: int = 0
    started: int = 0
    errors: list[str] = field(default_factory=list)
    recorded: list[str] | None = None

    def label(self, path: str) -> str:
        if path not in self.labels:
            said = Path(path + ".txt").read_text(encoding="utf-8")
            found = [name for name, words, _ in PROMPTS if words.lower() in said.lower()]
            self.labels[path] = found[0] if found else f"unexpected: {said[:60]}"
        return self.labels[path]

    def error(self, message: str) -> None:
        self.errors.append(message)


KEYS = {name: key for name, _, key in PROMPTS}


async def one_call(load: Load, uniqueid: str, record: bool) -> None:
    """One caller through the open-ticket path; counts it completed only when every prompt of
    the path was heard in order and the server hung up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", load.port)
    heard: list[str] = []
    lines: list[str] = []
    hung_up = False
    try:
        writer.write(environment(uniqueid, load.port))
        sent = time.perf_counter()
        while True:
            raw = await asyncio.wait_for(reader.readline(), COMMAND_TIMEOUT_S)
            arrived = time.perf_counter()
            if not raw:
                break
            line = raw.decode().rstrip("\r\n")
            lines.append(line)
            words = shlex.split(line)
            reply = "200 result=0"
            if line.startswith(("STREAM FILE", "GET DATA")):
                label = load.label(words[2])
                if label.startswith("unexpected"):
                    load.error(f"{uniqueid}: {label}")
                    return
                heard.append(label)
                key = KEYS[label]
                if load.pace:
                    await asyncio.sleep(load.pace * load.rng.uniform(0.8, 1.2))
                if line.startswith("GET DATA"):
                    reply = f"200 result={key}" if key else "200 result= (timeout)"
                elif key and key in (words[3] if len(words) > 3 else ""):
                    reply = f"200 result={ord(key)} endpos=8000"
                else:
                    reply = "200 result=0 endpos=16000"
            elif line.startswith("WAIT FOR DIGIT"):
                label = "wait_for_digit"
            elif line.startswith("SET VARIABLE"):
                label, reply = "set_variable", "200 result=1"
            elif line == "HANGUP":
                label, reply, hung_up = "hangup", "200 result=1\nHANGUP", True
            else:
                label = words[0].lower() if words else "empty"
            load.gaps.setdefault(label, []).append(arrived - sent)
            writer.write(reply.encode() + b"\n")
            sent = time.perf_counter()
    except (TimeoutError, ConnectionError, OSError) as exc:
        load.error(f"{uniqueid}: {type(exc).__name__} {exc} after {heard}")
        return
    finally:
        writer.close()
    path = [label for label in heard if label in OPEN_TICKET]
    if path == OPEN_TICKET and hung_up:
        load.completed += 1
        if record and load.recorded is None:
            load.recorded = lines
    else:
        load.error(f"{uniqueid}: incomplete call, heard {heard}, server hung up: {hung_up}")


async def client(args: argparse.Namespace) -> dict[str, Any]:
    load = Load(args.port, args.pace, random.Random(args.seed))
    base = f"{int(time.time())}{os.getpid() % 1000:03d}"
    deadline = time.perf_counter() + args.duration

    async def slot(index: int) -> None:
        if args.ramp:
            await asyncio.sleep(args.ramp * index / args.concurrency)
        while load.started < args.calls and time.perf_counter() < deadline:
            load.started += 1
            number = load.started
            try:
                await one_call(load, f"{base}.{number}", args.record)
            except Exception as exc:  # one broken call must not stop the run: it is counted
                load.error(f"{base}.{number}: {type(exc).__name__} {exc}")

    started = time.perf_counter()
    await asyncio.gather(*(slot(i) for i in range(args.concurrency)))
    elapsed = time.perf_counter() - started
    everything = [gap for gaps in load.gaps.values() for gap in gaps]
    cached = [gap for label, gaps in load.gaps.items() if label not in UNCACHED for gap in gaps]
    return {
        "elapsed": elapsed,
        "started": load.started,
        "completed": load.completed,
        "errors": len(load.errors),
        "error_samples": load.errors[:MAX_ERROR_SAMPLES],
        "gaps": {label: cuts(gaps) for label, gaps in sorted(load.gaps.items())},
        "all": cuts(everything),
        "cached": cuts(cached),
        "recorded": load.recorded,
    }


# -- the benchmark process ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def run_client(port: int, args: argparse.Namespace, **overrides: object) -> dict[str, Any]:
    options = vars(args) | overrides
    command = [sys.executable, __file__, "--client", "--port", str(port)]
    for name in ("concurrency", "calls", "duration", "pace", "ramp", "seed"):
        command += [f"--{name}", str(options[name])]
    if options.get("record"):
        command.append("--record")
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
    try:
        async with asyncio.timeout(float(options["duration"]) + COMMAND_TIMEOUT_S * 2):
            output, _ = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    return dict(json.loads(output))


@dataclass
class Server:
    """One ``atende serve`` process on a fresh data directory."""

    process: subprocess.Popen[bytes]
    data_dir: Path
    http_port: int
    agi_port: int

    def status(self, field_name: str) -> str:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return line.split(":", 1)[1].strip()
        return "?"

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU seconds of the server process, and of its finished children (espeak-ng, sox)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks, (
            int(fields[13]) + int(fields[14])
        ) / ticks

    def tickets(self) -> dict[str, int]:
        with sqlite3.connect(self.data_dir / "atende.db") as db:
            total, protocols = db.execute(
                "SELECT count(*), count(DISTINCT protocol) FROM tickets"
            ).fetchone()
            outcomes = dict(db.execute("SELECT outcome, count(*) FROM calls GROUP BY outcome"))
        return {"tickets": total, "distinct_protocols": protocols} | {
            f"calls_{outcome}": n for outcome, n in outcomes.items()
        }

    def log_problems(self) -> list[str]:
        log = (self.data_dir / "serve.log").read_text(errors="replace").splitlines()
        return [line for line in log if "ERROR" in line or "Traceback" in line]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(max_calls: int) -> Server:
    data_dir = Path(tempfile.mkdtemp(prefix="ura-bench-"))
    http_port, agi_port = free_port(), free_port()
    env = os.environ | {
        "ATENDE_DATA_DIR": str(data_dir),
        "ATENDE_HTTP_PORT": str(http_port),
        "ATENDE_AGI_PORT": str(agi_port),
        "ATENDE_OTP": "never",
        "ATENDE_HOURS": "mon-sun 00:00-24:00",
        "ATENDE_AGI_MAX_CALLS": str(max_calls),
        "ATENDE_AUDIO_PERSONAL_TRANSCRIPTS": "1",  # the callers react to the name they hear
    }
    env.pop("ATENDE_DATABASE_URL", None)
    env.pop("ATENDE_CONFIG", None)
    log = (data_dir / "serve.log").open("wb")
    process = subprocess.Popen(
        [str(ATENDE), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=data_dir
    )
    server = Server(process, data_dir, http_port, agi_port)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"atende serve exited: see {data_dir / 'serve.log'}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=2):
                return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise SystemExit("atende serve did not answer /healthz within 120 s")


async def replay_server(recorded: list[str]) -> asyncio.Server:
    """The ceiling: a bare asyncio line server that, after the environment block, answers each
    line with the next command line of a recorded call, then closes."""
    script = [(line + "\n").encode() for line in recorded]

    async def call(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()).strip():
            pass
        for line in script:
            writer.write(line)
            if not await reader.readline():
                break
        writer.close()

    return await asyncio.start_server(call, "127.0.0.1", 0, backlog=4096)


def show(name: str, result: dict[str, Any]) -> None:
    rate = result["completed"] / result["elapsed"]
    print(
        f"{name}: {result['completed']}/{result['started']} calls completed in "
        f"{result['elapsed']:.1f} s = {rate:.1f} calls/s, errors {result['errors']}; "
        f"reply all p50 {result['all']['p50_ms']:.2f} ms p99 {result['all']['p99_ms']:.2f} ms, "
        f"cached prompts p50 {result['cached']['p50_ms']:.2f} ms "
        f"p99 {result['cached']['p99_ms']:.2f} ms"
    )
    for label, cut in result["gaps"].items():
        print(
            f"    before {label:<15} n={cut['n']:<6} p50 {cut['p50_ms']:8.2f} ms   "
            f"p99 {cut['p99_ms']:8.2f} ms"
        )
    for sample in result["error_samples"]:
        print(f"    error: {sample}")


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    server = start_server(args.concurrency + 100)
    try:
        print(f"atende serve pid {server.process.pid}, data dir {server.data_dir}")
        warm = await run_client(
            server.agi_port, args, concurrency=1, calls=1, pace=0, ramp=0, record=True
        )
        if not warm["recorded"]:
            raise SystemExit(f"warm-up call failed: {warm['error_samples']}")
        cpu_before = server.cpu_seconds()
        atende = await run_client(server.agi_port, args)
        cpu_after = server.cpu_seconds()
        atende |= {
            "peak_rss": server.status("VmHWM"),
            "server_cpu_s": cpu_after[0] - cpu_before[0],
            "children_cpu_s": cpu_after[1] - cpu_before[1],
            "db": server.tickets(),
            "warm_up_calls": warm["completed"],
            "server_log_errors": server.log_problems()[:MAX_ERROR_SAMPLES],
        }
    finally:
        server.stop()
    try:
        ceiling = await replay_server(warm["recorded"])  # its prompts' .txt are in data_dir
        async with ceiling:
            echo = await run_client(ceiling.sockets[0].getsockname()[1], args)
    finally:
        shutil.rmtree(server.data_dir, ignore_errors=True)
    return {"atende": atende, "echo": echo}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", nargs="?", choices=sorted(PRESETS), default="unpaced")
    parser.add_argument("--concurrency", type=int, help="callers at once")
    parser.add_argument("--calls", type=int, help="calls in all, at most")
    parser.add_argument("--duration", type=float, help="seconds of new calls, at most")
    parser.add_argument("--pace", type=float, help="seconds before answering each prompt")
    parser.add_argument("--ramp", type=float, help="seconds over which the callers start")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--record", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    for name, value in PRESETS[args.preset].items():
        if getattr(args, name) is None:
            setattr(args, name, type(value)(value))
    args.concurrency, args.calls = int(args.concurrency), int(args.calls)
    if args.client:
        print(json.dumps(asyncio.run(client(args))))
        return
    print(
        f"{args.preset}: {args.concurrency} callers, at most {args.calls} calls / "
        f"{args.duration:g} s, pace {args.pace:g} s, ramp {args.ramp:g} s; "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    results = asyncio.run(benchmark(args))
    atende, echo = results["atende"], results["echo"]
    show("line replay server (ceiling)", echo)
    show("atende serve", atende)
    db = atende["db"]
    expected = atende["completed"] + atende["warm_up_calls"]
    per_call = 1e3 / max(atende["completed"], 1)
    print(
        f"peak RSS {atende['peak_rss']}; CPU: server {atende['server_cpu_s']:.1f} s "
        f"({atende['server_cpu_s'] * per_call:.1f} ms per call), its speech subprocesses "
        f"{atende['children_cpu_s']:.1f} s ({atende['children_cpu_s'] * per_call:.1f} ms per call)"
    )
    print(
        f"tickets in the database {db['tickets']} ({db['distinct_protocols']} distinct "
        f"protocols) for {expected} completed calls (incl. warm-up): "
        f"{'OK' if db['tickets'] == expected == db['distinct_protocols'] else 'MISMATCH'}"
    )
    for line in atende["server_log_errors"]:
        print(f"    server log: {line}")
    if args.json:
        results["atende"]["recorded"] = results["echo"]["recorded"] = None
        print(json.dumps(results))


if __name__ == "__main__":
    main()
