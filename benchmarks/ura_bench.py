"""Whole open-ticket calls through one ``atende serve`` process, against a bare line server.

The AGI layer alone is measured by ``agi_bench.py``; this one answers the product question:
how many callers can one process serve, and how long does a caller wait for the server after
pressing a key? A load generator in a second process on loopback plays Asterisk: it sends the
``agi_*`` environment block like Asterisk 22 (see the AGI transcript), answers every command
the way Asterisk does, and presses keys by what each prompt *says* (the ``.txt`` kept beside
each audio file in the server's data directory, which this benchmark owns), through the ``ti``
flow's open-ticket path (node ids in brackets):

    [greeting] -> [main_menu] "1" -> [confirm_person] "Você é Maria da Silva?" "1"
    -> [choose_service] category "3", item "1" -> [open_ticket] -> [read_ticket_protocol]
    protocol read back, no key -> goodbye -> the server hangs up

(caller id 2001 is the demo person 1001's extension, ``ATENDE_OTP=never``, and
``ATENDE_AUDIO_PERSONAL_TRANSCRIPTS`` so the caller can read the prompt holding their name,
which has no transcript by default). Paced calls wait about a second (0.8-1.2 s) before
answering each STREAM FILE or GET DATA, as if the prompt played and a person reacted (people's
pace); unpaced calls answer at once (the process's capacity in complete calls/s).

Server reply time is the time from the client writing its reply to the next command arriving:
the server's own work for that step. It is reported per step, named by what arrives next
(``protocol`` = the ticket is opened and its number is composed), with p50, p99, max and how
many replies took over 250 ms.

In the same run the same client, with the same settings, drives a bare asyncio line server
that replays the command lines of a recorded call (one line in, the next line out, no other
work): the ceiling of this machine, loopback and client. Also measured per run: the server's
CPU time per complete call (its processes, and apart the speech subprocesses they waited for,
from ``/proc``), its peak RSS, the tickets the database gained against the calls the client
completed, and on PostgreSQL the database's own counters per call (``pg_stat_database``:
transactions committed and rolled back, rows read and written; the server's background work
during the run, such as its heartbeat, is in them; statements are not counted there). SQLite
and MariaDB have no per-database counters: skipped.

Run: ``.venv/bin/python benchmarks/ura_bench.py paced unpaced`` (500 paced callers, 1000 calls;
then 50 unpaced callers for 10 s; each on a fresh server and database, each with its
ceiling), with ``--database-server postgresql://...`` for a fresh PostgreSQL database,
``--with-seed`` to measure the seed's architecture in the same sitting (``seed_bench.py``),
``--workers N`` for ``atende serve --workers N``, ``--host``/``--agi-port``/``--http-port``
to choose where the server listens. ``--help`` lists the rest.
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
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    HOST,
    ProcessTimes,
    add_database_options,
    atende_command,
    backend_name,
    chosen_database,
    database_counters,
    free_port,
    query,
    serve_env,
    settled_counters,
    tree_cpu_seconds,
    tree_peak_rss_kib,
)

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
OPEN_TICKET = ["greeting", "main_menu", "confirm_name", "category", "item", "protocol"]
UNCACHED = {"protocol"}  # a new ticket's number: composed while the caller waits
SLOW_REPLY_S = 0.250  # a caller hears this much silence as a problem (issue 12)
COMMAND_TIMEOUT_S = 30.0
MAX_ERROR_SAMPLES = 5
STATS_SETTLE_S = 11.0  # PostgreSQL 15 publishes an idle backend's counts within 10 s


def environment(uniqueid: str, host: str, port: int) -> bytes:
    """The block Asterisk 22 sends when a FastAGI connection opens (ends with a blank line)."""
    lines = [
        "agi_network: yes",
        "agi_network_script: ura",
        f"agi_request: agi://{host}:{port}/ura",
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
    """Count, p50, p99 and max (ms) of durations in seconds, and how many were slow."""
    slow = sum(1 for value in values if value > SLOW_REPLY_S)
    top = max(values) * 1e3 if values else 0.0
    if len(values) < 2:
        return {"n": len(values), "p50_ms": top, "p99_ms": top, "max_ms": top, "slow": slow}
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"n": len(values), "p50_ms": q[49] * 1e3, "p99_ms": q[98] * 1e3, "max_ms": top} | {
        "slow": slow
    }


# -- the load generator (a second process) --------------------------------------------------


@dataclass
class Load:
    """What the client measured over one run."""

    host: str
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
            try:
                said = Path(path + ".txt").read_text(encoding="utf-8")
            except OSError:
                said = f"(no transcript beside {path})"
            found = [name for name, words, _ in PROMPTS if words.lower() in said.lower()]
            self.labels[path] = found[0] if found else f"unexpected: {said[:60]}"
        return self.labels[path]

    def error(self, message: str) -> None:
        self.errors.append(message)


KEYS = {name: key for name, _, key in PROMPTS}


async def one_call(load: Load, uniqueid: str, record: bool) -> None:
    """One caller through the open-ticket path; counts it completed only when every prompt of
    the path was heard in order and the server hung up."""
    reader, writer = await asyncio.open_connection(load.host, load.port)
    heard: list[str] = []
    lines: list[str] = []
    hung_up = False
    try:
        writer.write(environment(uniqueid, load.host, load.port))
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
    load = Load(args.client_host, args.client_port, args.pace, random.Random(args.seed))
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


async def run_client(
    host: str, port: int, args: argparse.Namespace, **overrides: object
) -> dict[str, Any]:
    options = vars(args) | overrides
    command = [sys.executable, __file__, "--client", "--client-host", host]
    command += ["--client-port", str(port)]
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
    """One ``atende serve`` (and its worker processes, if any) on a fresh data directory."""

    process: subprocess.Popen[bytes]
    data_dir: Path
    database_url: str
    host: str
    http_port: int
    agi_port: int

    def cpu(self) -> ProcessTimes:
        return tree_cpu_seconds(self.process.pid) or ProcessTimes(0.0, 0.0)

    def totals(self) -> dict[str, int]:
        """Tickets, distinct protocols, calls by outcome and call events in the database."""
        tickets, protocols = query(
            self.database_url, "SELECT count(*), count(DISTINCT protocol) FROM tickets"
        )[0]
        (events,) = query(self.database_url, "SELECT count(*) FROM call_events")[0]
        outcomes = query(self.database_url, "SELECT outcome, count(*) FROM calls GROUP BY 1")
        return {
            "tickets": int(str(tickets)),
            "distinct_protocols": int(str(protocols)),
            "call_events": int(str(events)),
        } | {f"calls_{outcome}": int(str(n)) for outcome, n in outcomes}

    def log_tail(self, lines: int = 15) -> str:
        log = (self.data_dir / "serve.log").read_text(errors="replace").splitlines()
        return "\n".join(log[-lines:])

    def workers_ready(self) -> int:
        """How many processes (workers) said they serve HTTP."""
        return (self.data_dir / "serve.log").read_text(errors="replace").count("HTTP on http")

    def log_problems(self) -> list[str]:
        log = (self.data_dir / "serve.log").read_text(errors="replace").splitlines()
        return [line for line in log if "ERROR" in line or "Traceback" in line]

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(args: argparse.Namespace, database_url: str | None, max_calls: int) -> Server:
    data_dir = Path(tempfile.mkdtemp(prefix="ura-bench-"))
    http_port = args.http_port or free_port(args.host)
    agi_port = args.agi_port or free_port(args.host)
    env = serve_env(
        data_dir,
        database_url,
        http_host=args.host,
        http_port=str(http_port),
        agi_host=args.host,
        agi_port=str(agi_port),
        otp="never",
        hours="mon-sun 00:00-24:00",
        agi_max_calls=str(max_calls),
        audio_personal_transcripts="true",  # the callers react to the name they hear
    )
    if database_url:  # SQLite gets the demo people on its first start, a server database not
        subprocess.run(
            [*atende_command(), "demo"], env=env, cwd=data_dir, check=True, capture_output=True
        )
    command = [*atende_command(), "serve"]
    if args.workers is not None:
        command += ["--workers", str(args.workers)]
    log = (data_dir / "serve.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=data_dir)
    url = database_url or f"sqlite:///{data_dir / 'atende.db'}"
    server = Server(process, data_dir, url, args.host, http_port, agi_port)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            refused = ""
            if args.workers is not None and "--workers" in server.log_tail(40):
                refused = f"this atende serve does not accept --workers {args.workers}.\n"
            tail = server.log_tail()
            shutil.rmtree(data_dir, ignore_errors=True)
            raise SystemExit(
                f"{refused}atende serve exited with {process.returncode} "
                f"({shlex.join(command)}); its log ends:\n{tail}"
            )
        try:
            with urllib.request.urlopen(f"http://{args.host}:{http_port}/healthz", timeout=2):
                if server.workers_ready() >= (args.workers or 1):  # not the first one only
                    return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    tail = server.log_tail()
    shutil.rmtree(data_dir, ignore_errors=True)
    raise SystemExit(f"atende serve did not answer /healthz within 120 s; its log ends:\n{tail}")


async def replay_server(host: str, recorded: list[str]) -> asyncio.Server:
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

    return await asyncio.start_server(call, host, 0, backlog=4096)


def difference(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {name: value - before.get(name, 0) for name, value in after.items()}


async def measure(args: argparse.Namespace, database_url: str | None) -> dict[str, Any]:
    """One preset: the server on ``database_url``, then the ceiling, with the same client."""
    server = start_server(args, database_url, args.concurrency + 100)
    try:
        return await measure_on(server, args, database_url)
    finally:
        server.stop()
        shutil.rmtree(server.data_dir, ignore_errors=True)


async def measure_on(
    server: Server, args: argparse.Namespace, database_url: str | None
) -> dict[str, Any]:
    host = args.host
    print(f"atende serve pid {server.process.pid}, data dir {server.data_dir}", flush=True)
    warm = await run_client(
        host, server.agi_port, args, concurrency=1, calls=1, pace=0, ramp=0, record=True
    )
    if not warm["recorded"]:
        raise SystemExit(
            f"warm-up call failed: {warm['error_samples']}; server log:\n{server.log_tail()}"
        )
    if database_counters(database_url) is not None:
        await asyncio.sleep(STATS_SETTLE_S)  # the warm-up's counts published first
    counters_before = database_counters(database_url)
    totals_before = server.totals()
    cpu_before = server.cpu()
    atende = await run_client(host, server.agi_port, args)
    cpu_after = server.cpu()
    atende |= {
        "peak_rss_kib": tree_peak_rss_kib(server.process.pid),
        "server_cpu_s": cpu_after.own - cpu_before.own,
        "children_cpu_s": cpu_after.children - cpu_before.children,
        "warm_up_calls": warm["completed"],
    }
    server.stop()  # its connections close: PostgreSQL publishes their last counts
    counters_after = settled_counters(database_url)
    atende["db"] = difference(server.totals(), totals_before)
    atende["db_counters"] = (
        difference(counters_after, counters_before)
        if counters_after is not None and counters_before is not None
        else None
    )
    atende["server_log_errors"] = server.log_problems()[:MAX_ERROR_SAMPLES]
    ceiling = await replay_server(host, warm["recorded"])  # its prompts' .txt: data_dir
    async with ceiling:
        echo = await run_client(host, ceiling.sockets[0].getsockname()[1], args)
    return {"atende": atende, "echo": echo}


# -- the report -------------------------------------------------------------------------------


def show(name: str, result: dict[str, Any]) -> None:
    rate = result["completed"] / result["elapsed"]
    every = result["all"]
    print(
        f"{name}: {result['completed']}/{result['started']} calls completed in "
        f"{result['elapsed']:.1f} s = {rate:.1f} calls/s, errors {result['errors']}; "
        f"reply all p50 {every['p50_ms']:.2f} ms p99 {every['p99_ms']:.2f} ms "
        f"max {every['max_ms']:.2f} ms, {every['slow']} of {every['n']} over "
        f"{SLOW_REPLY_S * 1e3:.0f} ms; cached prompts p50 {result['cached']['p50_ms']:.2f} ms "
        f"p99 {result['cached']['p99_ms']:.2f} ms"
    )
    for label, cut in result["gaps"].items():
        print(
            f"    before {label:<15} n={cut['n']:<6} p50 {cut['p50_ms']:8.2f} ms   "
            f"p99 {cut['p99_ms']:8.2f} ms   max {cut['max_ms']:8.2f} ms   "
            f"over {SLOW_REPLY_S * 1e3:.0f} ms {cut['slow']}"
        )
    for sample in result["error_samples"]:
        print(f"    error: {sample}")


def per_call(value: float, calls: int) -> float:
    return value / calls if calls else float("nan")


def report(atende: dict[str, Any]) -> None:
    """The server's costs per complete call and the database check, after ``show``."""
    calls = atende["completed"]
    print(
        f"peak RSS {atende['peak_rss_kib'] / 1024:.0f} MiB; CPU: server "
        f"{atende['server_cpu_s']:.1f} s ({per_call(atende['server_cpu_s'] * 1e3, calls):.1f} "
        f"ms per complete call), its speech subprocesses {atende['children_cpu_s']:.1f} s "
        f"({per_call(atende['children_cpu_s'] * 1e3, calls):.1f} ms per call)"
    )
    db = atende["db"]
    ok = db["tickets"] == calls == db["distinct_protocols"]
    print(
        f"database gained {db['tickets']} tickets ({db['distinct_protocols']} distinct "
        f"protocols), {db.get('calls_ticket_opened', 0)} calls ending ticket_opened and "
        f"{db['call_events']} call events ({per_call(db['call_events'], calls):.1f} per call) "
        f"for {calls} completed calls: {'OK' if ok else 'MISMATCH'}"
    )
    counters = atende["db_counters"]
    if counters is None:
        print("database counters per call: not read (SQLite/MariaDB: no per-database counters)")
    else:
        written = counters["tup_inserted"] + counters["tup_updated"] + counters["tup_deleted"]
        print(
            "database counters per complete call (pg_stat_database, the run's background work "
            f"included): {per_call(counters['xact_commit'], calls):.1f} transactions committed,"
            f" {per_call(counters['xact_rollback'], calls):.1f} rolled back; rows read "
            f"{per_call(counters['tup_fetched'], calls):.1f} (scanned "
            f"{per_call(counters['tup_returned'], calls):.1f}), written "
            f"{per_call(written, calls):.1f}; statements: not counted (needs pg_stat_statements)"
        )
    for line in atende["server_log_errors"]:
        print(f"    server log: {line}")


def summary_row(preset: str, backend: str, result: dict[str, Any]) -> str:
    atende, echo = result["atende"], result["echo"]
    calls = atende["completed"]
    every, protocol = atende["all"], atende["gaps"].get("protocol", cuts([]))
    counters = atende["db_counters"]
    xacts = f"{per_call(counters['xact_commit'], calls):.1f}" if counters else "n/a"
    return (
        f"| {preset} | {backend} | {echo['completed'] / echo['elapsed']:,.1f} calls/s, "
        f"p99 {echo['all']['p99_ms']:.2f} ms "
        f"| **{calls / atende['elapsed']:.1f} calls/s** ({calls} calls) | {atende['errors']} "
        f"| {every['p50_ms']:,.0f} / {every['p99_ms']:,.0f} / {every['max_ms']:,.0f} ms "
        f"| {every['slow']} | {protocol['p50_ms']:,.0f} / {protocol['p99_ms']:,.0f} ms "
        f"| {per_call(atende['server_cpu_s'] * 1e3, calls):.1f} ms "
        f"| {atende['peak_rss_kib'] / 1024:.0f} MiB | {xacts} |"
    )


SUMMARY_HEAD = (
    "| run | database | ceiling (line replay) | atende serve | errors "
    "| reply p50 / p99 / max | replies > 250 ms | before protocol p50 / p99 "
    "| server CPU per call | peak RSS | transactions per call |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def seed_cpu_per_call(args: argparse.Namespace) -> float:
    """Server CPU per call of the seed's architecture, measured now (``seed_bench.py``)."""
    import seed_bench

    return seed_bench.measure(args.seed_calls).cpu_per_call_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "presets", nargs="*", metavar="preset", help=f"{' and/or '.join(PRESETS)} (unpaced)"
    )
    parser.add_argument("--concurrency", type=int, help="callers at once")
    parser.add_argument("--calls", type=int, help="calls in all, at most")
    parser.add_argument("--duration", type=float, help="seconds of new calls, at most")
    parser.add_argument("--pace", type=float, help="seconds before answering each prompt")
    parser.add_argument("--ramp", type=float, help="seconds over which the callers start")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--host", default=HOST, help="where the server listens (%(default)s)")
    parser.add_argument(
        "--agi-port", "--port", type=int, default=0, help="FastAGI port (default: a free one)"
    )
    parser.add_argument("--http-port", type=int, default=0, help="HTTP port (default: free)")
    parser.add_argument(
        "--workers", type=int, help="run `atende serve --workers N` (fails if not supported)"
    )
    add_database_options(parser)
    parser.add_argument(
        "--with-seed", action="store_true", help="also measure seed_bench.py, print the ratio"
    )
    parser.add_argument("--seed-calls", type=int, default=20, help="calls for --with-seed")
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--client-host", help=argparse.SUPPRESS)
    parser.add_argument("--client-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--record", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    presets = args.presets or ["unpaced"]
    unknown = [name for name in presets if name not in PRESETS]
    if unknown:
        parser.error(f"unknown preset {unknown[0]!r}: choose from {', '.join(PRESETS)}")
    if args.client:
        apply_preset(args, presets[0])
        print(json.dumps(asyncio.run(client(args))))
        return
    if args.with_seed:
        import seed_bench

        seed_bench.php_or_exit()  # before the runs, not after them
    if len(presets) > 1 and (args.agi_port or args.http_port):
        parser.error("fixed ports take one preset per run (the next server needs them free)")
    rows, results = [], {}
    for preset in presets:
        apply_preset(args, preset)
        print(
            f"\n{preset}: {args.concurrency} callers, at most {args.calls} calls / "
            f"{args.duration:g} s, pace {args.pace:g} s, ramp {args.ramp:g} s; workers "
            f"{args.workers or 'not set'}; {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
        )
        with chosen_database(args) as database_url:
            backend = backend_name(database_url)
            print(f"database: {backend}", flush=True)
            result = asyncio.run(measure(args, database_url))
        show("line replay server (ceiling)", result["echo"])
        show("atende serve", result["atende"])
        report(result["atende"])
        rows.append(summary_row(preset, backend, result))
        result["atende"]["recorded"] = result["echo"]["recorded"] = None
        results[preset] = result
    print(f"\n{SUMMARY_HEAD}\n" + "\n".join(rows))
    if args.with_seed:
        seed_ms = seed_cpu_per_call(args)
        for preset, result in results.items():
            atende = result["atende"]
            mine = per_call(atende["server_cpu_s"] * 1e3, atende["completed"])
            print(
                f"seed architecture {seed_ms:.1f} ms of CPU per call / atende {mine:.1f} ms "
                f"({preset}) = {seed_ms / mine:.1f}x (a lower bound: see seed_bench.py)"
            )
    if args.json:
        print(json.dumps(results))


def apply_preset(args: argparse.Namespace, preset: str) -> None:
    """Fill what the command line left out from ``preset`` (anew for each preset)."""
    if not hasattr(args, "given"):
        args.given = {name for name in PRESETS[preset] if getattr(args, name) is not None}
    for name, value in PRESETS[preset].items():
        if name not in args.given:
            setattr(args, name, type(value)(value))
    args.concurrency, args.calls = int(args.concurrency), int(args.calls)


if __name__ == "__main__":
    main()
