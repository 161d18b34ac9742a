"""One atende process: the HTTP app, the FastAGI server and the background work, together.

Start-up renders every fixed prompt before the first call is accepted; shutdown stops taking
calls and lets the calls in progress finish (up to ``SHUTDOWN_GRACE_S``). Background work:
queued messages are delivered (and retried) every few seconds, expired one-time codes and
unused audio are removed daily. A process that takes calls registers itself first, closes
the calls its own node's earlier run left open (a crash), then beats every few seconds and
closes the calls of any process whose heartbeat went stale (see services.call_owners). On
SQLite it refuses to start beside a live process (``DatabaseInUse``) other than a fellow
worker.

Every process of every node runs the same loops: outbox rows are claimed once each
(db.claims), and the periodic jobs that must run once per period for all of them (the purge
of codes, the recovery of stale processes' calls; the audio cleanup once per node) take turns
(services.housekeeping). A worker of ``atende serve --workers N`` (see atende.workers) listens
on the shared ports with ``SO_REUSEPORT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import socket
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import uvicorn

from atende.api.app import create_app
from atende.bootstrap import build_audio_cache
from atende.ivr.wiring import PhoneDeps, build_agi_server, build_phone, prompts_to_prerender
from atende.services.bundle import Services
from atende.services.call_owners import CallOwners
from atende.services.housekeeping import Housekeeping
from atende.speech import AudioCache

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 30.0
DELIVERY_INTERVAL_S = 5.0
HELPDESK_PUSH_INTERVAL_S = 5.0
HOUSEKEEPING_CHECK_S = 60.0  # how often a process asks whether a daily job is its turn
HOUSEKEEPING_EVERY = timedelta(days=1)
AUDIO_MAX_AGE_DAYS = 30.0
WORKER_THREADS = 32  # database and speech work of concurrent calls runs in these threads


async def _every(interval: float, name: str, work: Callable[[], Awaitable[object]]) -> None:
    while True:
        try:
            await work()
        except Exception:  # a failing round must not end the loop; the next one retries
            log.exception("background %s failed", name)
        await asyncio.sleep(interval)


def node_name(services: Services) -> str:
    return services.runtime.settings.node_name or socket.gethostname()


def housekeeping_of(services: Services) -> Housekeeping:
    """This process's turns at the jobs run once for all processes (named node:pid)."""
    return Housekeeping(services.runtime, f"{node_name(services)}:{os.getpid()}")


def background_tasks(
    deps: PhoneDeps, cache: AudioCache, holder: int | None
) -> list[asyncio.Task[None]]:
    """Delivery of queued messages (claimed for ``holder``, this process's row in
    ``processes``, if it has one) and the housekeeping turns."""
    services = deps.services
    turns = housekeeping_of(services)
    audio_job = f"audio-cleanup:{node_name(services)}"  # each node keeps its own audio
    deliver = functools.partial(services.messenger.deliver_due, holder=holder)

    async def housekeeping() -> None:
        if await asyncio.to_thread(turns.take_turn, "purge-codes", HOUSEKEEPING_EVERY):
            await asyncio.to_thread(services.codes.purge_expired)
        if await asyncio.to_thread(turns.take_turn, audio_job, HOUSEKEEPING_EVERY):
            await asyncio.to_thread(cache.cleanup, AUDIO_MAX_AGE_DAYS)

    return [
        asyncio.create_task(_every(DELIVERY_INTERVAL_S, "delivery", deliver)),
        asyncio.create_task(_every(HOUSEKEEPING_CHECK_S, "housekeeping", housekeeping)),
    ]


def prerender(deps: PhoneDeps) -> AudioCache:
    """Render every fixed prompt the flows may play (those already in the cache are kept);
    returns the cache. ``atende serve --workers N`` does it once before its workers start."""
    cache = build_audio_cache(deps.settings)
    prompts = prompts_to_prerender(deps)
    cache.prerender(prompts)
    log.info("%d prompts ready in %s", len(prompts), cache.directory)
    return cache


async def take_over_calls(
    services: Services, supervisor_pid: int | None = None
) -> tuple[int, asyncio.Task[None]]:
    """Register this process as an owner of calls, close what this node's dead earlier run
    left open, and keep beating; returns the process's id and its heartbeat task."""
    settings = services.runtime.settings
    owners = CallOwners(services.runtime)
    turns = housekeeping_of(services)
    node = node_name(services)
    # SQLite is one node's embedded store: refuse to run beside a live process (issue 12).
    register = functools.partial(
        owners.register, node, os.getpid(), supervisor_pid=supervisor_pid, alone_on_sqlite=True
    )
    process_id = await asyncio.to_thread(register)
    closed = await asyncio.to_thread(owners.close_previous_runs, process_id)
    log.info(
        "process %d on node %s; %d call(s) of its earlier run closed", process_id, node, closed
    )

    # Half a beat: a turn taken at one beat is free again at the next, whatever the jitter.
    recovery_every = timedelta(seconds=settings.heartbeat_interval / 2)

    async def beat() -> None:
        await asyncio.to_thread(owners.beat, process_id)
        if await asyncio.to_thread(turns.take_turn, "close-stale", recovery_every):
            await asyncio.to_thread(owners.close_stale)

    heartbeat = asyncio.create_task(_every(settings.heartbeat_interval, "heartbeat", beat))
    return process_id, heartbeat


async def run(
    services: Services, *, http: bool = True, agi: bool = True, supervisor_pid: int | None = None
) -> None:
    """Serve until SIGTERM/SIGINT; ``supervisor_pid``: as a worker of that
    ``atende serve --workers N``, sharing its ports and its SQLite file."""
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="atende")
    )
    settings = services.runtime.settings
    shared_ports = supervisor_pid is not None
    # Other processes' and nodes' changes drop this one's caches (PostgreSQL LISTEN).
    changes = services.runtime.changes
    await asyncio.to_thread(changes.listen)
    tasks: list[asyncio.Task[None]] = []
    owner_id = None
    if agi:
        owner_id, heartbeat = await take_over_calls(services, supervisor_pid)
        tasks.append(heartbeat)
    deps = build_phone(services, owner_id)
    cache = await asyncio.to_thread(prerender, deps)
    tasks += background_tasks(deps, cache, owner_id)
    # Tickets to the external helpdesk (issue 5): woken at once by the flow, else this often.
    tasks.append(asyncio.create_task(services.helpdesk.run(HELPDESK_PUSH_INTERVAL_S, owner_id)))
    agi_server = build_agi_server(deps, cache) if agi else None
    try:
        if agi_server is not None:
            await agi_server.start(reuse_port=shared_ports)
            log.info(
                "FastAGI on %s:%d: AGI(agi://HOST:%d/ura) runs flow %s, or /<flow name>",
                settings.agi_host,
                agi_server.port,
                agi_server.port,
                settings.flow,
            )
        if http:
            config = uvicorn.Config(
                create_app(services),
                host=settings.http_host,
                port=settings.http_port,
                log_level="warning",
                access_log=False,
                proxy_headers=bool(settings.trusted_proxies.strip()),
                forwarded_allow_ips=settings.trusted_proxies,
            )
            log.info(
                "HTTP on http://%s:%d (Swagger UI at /docs)", settings.http_host, settings.http_port
            )
            _outlive_uvicorns_signal()
            sockets = (
                [shared_socket(settings.http_host, settings.http_port)] if shared_ports else None
            )
            await uvicorn.Server(config).serve(sockets=sockets)
        else:
            await _wait_for_stop()
    finally:
        if agi_server is not None:
            await agi_server.stop(SHUTDOWN_GRACE_S)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await services.close()  # GLPI's killSession, Zammad's last caller-log events
        await asyncio.to_thread(changes.close)


def shared_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEPORT``, for the HTTP server of each
    worker: the kernel spreads the connections over the workers' sockets."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def _outlive_uvicorns_signal() -> None:
    """Let ``run`` finish its calls after uvicorn stops on SIGTERM (``systemctl stop``) or
    SIGINT: once shut down, uvicorn raises that signal again for the handler it found, and
    Python's default one would end the process there, cutting the calls in progress and
    skipping ``services.close``. This handler takes it; a later one waits for the grace too
    (systemd's ``TimeoutStopSec`` is the hard limit)."""
    if threading.current_thread() is not threading.main_thread():
        return  # uvicorn handles no signals there either
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stopping)


def _stopping(sig: int, _frame: object) -> None:
    log.info("%s: finishing the calls in progress", signal.Signals(sig).name)


async def _wait_for_stop() -> None:
    """Sleep until SIGINT/SIGTERM (what uvicorn does for the HTTP side)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
