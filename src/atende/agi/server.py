"""The FastAGI TCP server: one asyncio task per call, routed by script name.

Asterisk runs ``AGI(agi://host:4573/<script>)`` and never closes the connection itself, so the
server owns the end of every call: it closes the socket when the handler returns (the call goes
back to the dialplan, with the variables the handler set), hangs up when the handler fails, and
treats ``CallerGone`` as the ordinary end it is. A peer that breaks the protocol (a line past
the reader's limit, an endless or unknown reply) gets its connection closed at once and one log
line without a traceback: that is the peer's fault, not a bug to debug here. Whoever can reach
this port can drive calls (and trigger what the flow does, such as sending messages), hence the
allow-list, loopback only unless configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterable

from atende.agi.environment import mask_callerid, read_environment
from atende.agi.errors import AgiError, AgiProtocolError, CallerGone, UnknownScript
from atende.agi.protocol import AgiChannel

log = logging.getLogger(__name__)

Handler = Callable[[AgiChannel], Awaitable[None]]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

LOOPBACK: tuple[Network, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)


async def _hang_up_only(channel: AgiChannel) -> None:
    """Default busy hook: nothing to say, the server hangs up right after."""


class AgiServer:
    """FastAGI server: ``route()`` handlers, ``await start()``, later ``await stop()``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 4573,
        *,
        allow: Iterable[Network | str] = LOOPBACK,
        max_calls: int = 100,
        on_busy: Handler = _hang_up_only,
        command_timeout: float = 30.0,
        environment_timeout: float = 5.0,
    ) -> None:
        self._host = host
        self._port = port
        self._allow = tuple(ipaddress.ip_network(net) for net in allow)
        self._max_calls = max_calls
        self._on_busy = on_busy
        self._command_timeout = command_timeout
        self._environment_timeout = environment_timeout
        self._routes: dict[str, Handler] = {}
        self._any: Handler | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._active = 0
        self._server: asyncio.Server | None = None

    def route(self, script: str, handler: Handler) -> None:
        """Serve ``agi://host:port/<script>`` with ``handler``."""
        self._routes[script.strip("/")] = handler

    def route_any(self, handler: Handler) -> None:
        """Serve every path no :meth:`route` names with ``handler``, which raises
        :class:`UnknownScript` for a path it has nothing for."""
        self._any = handler

    @property
    def active_calls(self) -> int:
        """Calls whose handler is running now (busy and refused calls are not counted)."""
        return self._active

    @property
    def port(self) -> int:
        """The bound port (useful when started on port 0)."""
        if self._server is None:
            raise RuntimeError("AgiServer.port is known only after start()")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, *, reuse_port: bool = False) -> None:
        """Listen; returns once connections are accepted. With ``reuse_port`` the port is
        shared with the other processes that listen on it so (``SO_REUSEPORT``): the kernel
        spreads the connections over them (``atende serve --workers N``)."""
        self._server = await asyncio.start_server(
            self._accept, self._host, self._port, reuse_port=reuse_port or None
        )
        log.info("FastAGI listening on %s:%d", self._host, self.port)

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop accepting, let calls in progress finish for ``grace_seconds``, cancel the rest.

        A cancelled call's socket is closed without HANGUP: the call goes back to the dialplan.
        """
        if self._server is None:
            return
        self._server.close()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
            if pending:
                log.warning(
                    "cancelling %d call(s) still running after %g s", len(pending), grace_seconds
                )
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(self._serve_connection(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _allowed(self, peer: object) -> bool:
        if not isinstance(peer, tuple):
            return False
        address = ipaddress.ip_address(str(peer[0]).partition("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address in network for network in self._allow)

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peer = writer.get_extra_info("peername")
        if not self._allowed(peer):
            log.warning(
                "refused FastAGI connection from %s: not in the allow-list %s",
                peer[0] if isinstance(peer, tuple) else peer,
                ", ".join(map(str, self._allow)),
            )
            writer.close()
            return
        try:
            async with asyncio.timeout(self._environment_timeout):
                env = await read_environment(reader)
        except (AgiError, TimeoutError) as exc:
            log.warning("dropped FastAGI connection from %s: no AGI environment (%s)", peer[0], exc)
            writer.close()
            return
        except BaseException:  # a bug or a cancellation: still never leave the socket open
            writer.close()
            raise
        channel = AgiChannel(reader, writer, env, command_timeout=self._command_timeout)
        try:
            await self._dispatch(channel)
        finally:
            await channel.close()

    async def _dispatch(self, channel: AgiChannel) -> None:
        env = channel.env
        handler = self._routes.get(env.network_script, self._any)
        if handler is None:
            await self._refuse_unknown(channel)
            return
        if self._active >= self._max_calls:
            log.warning("call %s refused: %d calls already running", env.uniqueid, self._active)
            await self._run_busy_hook(channel)
            await self._hang_up_quietly(channel)
            return
        self._active += 1
        log.info(
            "call %s started: script %s, caller %s",
            env.uniqueid,
            env.network_script,
            mask_callerid(env.callerid),
        )
        try:
            await handler(channel)
        except UnknownScript:
            await self._refuse_unknown(channel)
        except CallerGone as exc:
            log.info("call %s ended: %s", env.uniqueid, exc)
        except AgiProtocolError as exc:
            log.error("call %s ended: %s; closing the connection", env.uniqueid, exc)
        except Exception:
            log.exception(
                "call %s: handler for %r failed; hanging up", env.uniqueid, env.network_script
            )
            await self._hang_up_quietly(channel)
        else:
            if channel.hung_up:
                log.info("call %s ended: the caller hung up", env.uniqueid)
            else:
                log.info("call %s: handler done, returning the call to the dialplan", env.uniqueid)
        finally:
            self._active -= 1

    async def _refuse_unknown(self, channel: AgiChannel) -> None:
        env = channel.env
        log.warning("call %s asked for unknown FastAGI script %r", env.uniqueid, env.network_script)
        with contextlib.suppress(AgiError):
            await channel.verbose(f"atende: no FastAGI script named {env.network_script}")
        await self._hang_up_quietly(channel)

    async def _run_busy_hook(self, channel: AgiChannel) -> None:
        try:
            await self._on_busy(channel)
        except CallerGone:
            pass
        except AgiProtocolError as exc:
            log.error("call %s ended: %s; closing the connection", channel.env.uniqueid, exc)
        except Exception:
            log.exception("call %s: busy hook failed", channel.env.uniqueid)

    @staticmethod
    async def _hang_up_quietly(channel: AgiChannel) -> None:
        with contextlib.suppress(AgiError):
            await channel.hangup()
