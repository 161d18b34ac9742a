"""One atende process: the HTTP app, the FastAGI server and the background work, together.

Start-up renders every fixed prompt before the first call is accepted; shutdown stops taking
calls and lets the calls in progress finish (up to ``SHUTDOWN_GRACE_S``). Background work:
queued messages are delivered (and retried) every few seconds, expired one-time codes and
unused audio are removed daily. A process that takes calls registers itself first, closes
the calls its own node's earlier run left open (a crash), then beats every few seconds and
closes the calls of any process whose heartbeat went stale (see services.call_owners). On
SQLite it refuses to start beside a live process (``DatabaseInUse``).
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

import uvicorn

from atende.api.app import create_app
from atende.bootstrap import build_audio_cache
from atende.ivr.wiring import PhoneDeps, build_agi_server, build_phone, prompts_to_prerender
from atende.services.bundle import Services
from atende.services.call_owners import CallOwners
from atende.speech import AudioCache

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 30.0
DELIVERY_INTERVAL_S = 5.0
HELPDESK_PUSH_INTERVAL_S = 5.0
HOUSEKEEPING_INTERVAL_S = 24 * 3600.0
AUDIO_MAX_AGE_DAYS = 30.0
WORKER_THREADS = 32  # database and speech work of concurrent calls runs in these threads


async def _every(interval: float, name: str, work: Callable[[], Awaitable[object]]) -> None:
    while True:
        try:
            await work()
        except Exception:  # a failing round must not end the loop; the next one retries
            log.exception("background %s failed", name)
        await asyncio.sleep(interval)


def background_tasks(deps: PhoneDeps, cache: AudioCache) -> list[asyncio.Task[None]]:
    async def housekeeping() -> None:
        await asyncio.to_thread(deps.services.codes.purge_expired)
        await asyncio.to_thread(cache.cleanup, AUDIO_MAX_AGE_DAYS)

    return [
        asyncio.create_task(
            _every(DELIVERY_INTERVAL_S, "delivery", deps.services.messenger.deliver_due)
        ),
        asyncio.create_task(_every(HOUSEKEEPING_INTERVAL_S, "housekeeping", housekeeping)),
    ]


async def take_over_calls(services: Services) -> tuple[int, asyncio.Task[None]]:
    """Register this process as an owner of calls, close what this node's dead earlier run
    left open, and keep beating; returns the process's id and its heartbeat task."""
    settings = services.runtime.settings
    owners = CallOwners(services.runtime)
    node = settings.node_name or socket.gethostname()
    # SQLite is one node's embedded store: refuse to run beside a live process (issue 12).
    process_id = await asyncio.to_thread(
        functools.partial(owners.register, node, os.getpid(), alone_on_sqlite=True)
    )
    closed = await asyncio.to_thread(owners.close_previous_runs, process_id)
    log.info(
        "process %d on node %s; %d call(s) of its earlier run closed", process_id, node, closed
    )

    async def beat() -> None:
        await asyncio.to_thread(owners.beat, process_id)
        await asyncio.to_thread(owners.close_stale)

    heartbeat = asyncio.create_task(_every(settings.heartbeat_interval, "heartbeat", beat))
    return process_id, heartbeat


async def run(services: Services, *, http: bool = True, agi: bool = True) -> None:
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="atende")
    )
    settings = services.runtime.settings
    # Other processes' and nodes' changes drop this one's caches (PostgreSQL LISTEN).
    changes = services.runtime.changes
    await asyncio.to_thread(changes.listen)
    tasks: list[asyncio.Task[None]] = []
    owner_id = None
    if agi:
        owner_id, heartbeat = await take_over_calls(services)
        tasks.append(heartbeat)
    deps = build_phone(services, owner_id)
    cache = build_audio_cache(settings)
    prompts = await asyncio.to_thread(prompts_to_prerender, deps)
    await asyncio.to_thread(cache.prerender, prompts)
    log.info("%d prompts ready in %s", len(prompts), cache.directory)
    tasks += background_tasks(deps, cache)
    # Tickets to the external helpdesk (issue 5): woken at once by the flow, else this often.
    tasks.append(asyncio.create_task(services.helpdesk.run(HELPDESK_PUSH_INTERVAL_S)))
    agi_server = build_agi_server(deps, cache) if agi else None
    try:
        if agi_server is not None:
            await agi_server.start()
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
            await uvicorn.Server(config).serve()
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
