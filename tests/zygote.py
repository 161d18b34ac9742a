"""A fork server ("zygote") for the tests' ``atende`` commands: each one a real process of its
own, without paying the interpreter's start and atende's imports every time.

``python -m atende.cli`` spends about 1.5 s importing before a command does anything, and the
suite runs the command hundreds of times. The zygote is one process per test session (per
pytest-xdist worker) that imports the command and what ``atende serve`` loads, then waits on a
Unix socket. For each command it forks a child that takes the test's argv, environment, working
directory, umask and standard streams (passed over the socket as file descriptors), and runs
``atende.cli`` as ``__main__`` exactly as ``python -m atende.cli`` does (:mod:`runpy`): its own
pid, its own exit status (negative when a signal ended it, as with :class:`subprocess.Popen`),
real signals, and the interpreter's normal shutdown (threads joined, ``atexit``, streams
flushed). The test side gets :class:`Process`, a ``Popen``-like handle.

What differs from a fresh interpreter: the modules are imported already, before the test's
environment is set (atende reads its settings when a command runs, not on import), and every
child shares the zygote's ``str`` hash seed. What exercises the interpreter's own start keeps a
real ``exec``: the systemd unit's ``ExecStart`` (test_deploy), the ``--workers`` supervisor's
workers (it starts them itself), ``scripts/run`` and ``scripts/test`` (test_setup_scripts).

The zygote forks only while single-threaded: it checks before each fork.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import json
import os
import runpy
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

# What the commands import, loaded once here: the command's own imports (the command itself
# is then forgotten, to run as ``__main__``), what ``serve`` adds, the default adapters.
PRELOAD = (
    "atende.cli",
    "atende.serve",
    "atende.workers",
    "atende.logs",
    "atende.ivr.wiring",
    "atende.api.app",
    "atende.messaging.outbox",
    "atende.speech.espeak",
    "atende.messaging.twilio",  # read for ATENDE_VERIFIER's default
)
PID = struct.Struct("i")
MAX_REQUEST = 1 << 20  # argv and environment, as JSON
ADDRESS = "ATENDE_TEST_ZYGOTE"  # for COMMAND: the zygote's socket
# ``atende`` in a shell script run with ``ATENDE_TEST_ZYGOTE`` set; only the standard library
# to import, so it starts in a few tens of milliseconds.
COMMAND = f"{sys.executable} -I -S {__file__} run"


@dataclass(frozen=True)
class Request:
    """One command to run: what ``subprocess.Popen`` would have been given."""

    args: list[str]
    env: dict[str, str]
    cwd: str
    umask: int


# The server side: in the zygote process.


def serve(listener: socket.socket, control: int) -> tuple[Request, list[int]]:
    """Fork a child for each request on ``listener`` and send its pid, then its exit status,
    back on the request's connection; stop when ``control`` (the test session's pipe) ends.
    Returns only in a forked child: the request and its stdin, stdout and stderr."""
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(control, selectors.EVENT_READ)
    running: dict[int, tuple[int, socket.socket]] = {}  # pidfd -> pid, its connection
    while True:
        for key, _ in selector.select():
            if key.fileobj is listener:
                connection, _ = listener.accept()
                message, fds, _, _ = socket.recv_fds(connection, MAX_REQUEST, 3)
                if not message:  # the client went away before asking
                    connection.close()
                    continue
                if threading.active_count() != 1 or len(os.listdir("/proc/self/task")) != 1:
                    raise RuntimeError("the zygote must be single-threaded to fork")
                pid = os.fork()
                if pid == 0:
                    selector.close()
                    listener.close()
                    os.close(control)
                    connection.close()
                    for pidfd, (_, other) in running.items():
                        os.close(pidfd)
                        other.close()
                    return Request(**json.loads(message)), fds
                for fd in fds:
                    os.close(fd)
                pidfd = os.pidfd_open(pid)
                with contextlib.suppress(OSError):  # a client gone meanwhile: the child runs on
                    socket.send_fds(connection, [PID.pack(pid)], [pidfd])
                running[pidfd] = (pid, connection)
                selector.register(pidfd, selectors.EVENT_READ)
            elif key.fileobj == control:  # the test session is over (its children go on)
                os._exit(0)
            else:
                pidfd = int(key.fd)
                pid, connection = running.pop(pidfd)
                selector.unregister(pidfd)
                os.close(pidfd)
                _, status = os.waitpid(pid, 0)
                with contextlib.suppress(OSError):  # nobody waits for it any more
                    connection.send(PID.pack(os.waitstatus_to_exitcode(status)))
                connection.close()


def become(request: Request, fds: list[int]) -> None:
    """In the forked child: take the request's streams, directory, umask and environment."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in set(fds) - {0, 1, 2}:
        os.close(fd)
    os.chdir(request.cwd)
    os.umask(request.umask)
    os.environ.clear()
    os.environ.update(request.env)
    sys.argv = ["-m", *request.args]  # runpy puts the module's file first, as ``-m`` does
    sys.path[0] = os.getcwd()  # ``-m`` searches the working directory first


def preload() -> None:
    """Import what the commands use, with SQLAlchemy's mappers configured (each process does it
    at its first query); leave ``atende.cli`` unimported, as ``python -m`` finds it. The objects
    made so far live as long as the process in a child too: frozen, the garbage collector skips
    them, and a child's pages stay shared with the zygote's (no copy on write)."""
    for module in PRELOAD:
        importlib.import_module(module)
    from sqlalchemy.orm import configure_mappers

    configure_mappers()
    del sys.modules["atende.cli"]
    delattr(sys.modules["atende"], "cli")
    gc.freeze()  # out of the collector's sight: a child's exit no longer walks them (0.5 s)


def main() -> None:
    """The zygote: ``python zygote.py serve LISTENER_FD``, stdin the session's control pipe."""
    listener = socket.socket(fileno=int(sys.argv[2]))
    preload()
    request, fds = serve(listener, sys.stdin.fileno())
    become(request, fds)
    runpy.run_module("atende.cli", run_name="__main__", alter_sys=True)


def ask(
    connection: socket.socket,
    args: Sequence[str],
    env: Mapping[str, str],
    cwd: str,
    umask: int,
    streams: Sequence[int],
) -> tuple[int, int]:
    """Have the zygote fork a child running ``atende ARGS`` with ``streams`` as its stdin,
    stdout and stderr: its pid and a pidfd of it. Its exit status comes later on
    ``connection``."""
    request = {"args": list(args), "env": dict(env), "cwd": cwd, "umask": umask}
    socket.send_fds(connection, [json.dumps(request).encode()], list(streams))
    message, fds, _, _ = socket.recv_fds(connection, PID.size, 1)
    if not message:
        raise RuntimeError("the zygote failed: see zygote.log beside its socket")
    return PID.unpack(message)[0], fds[0]


def valid(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def current_umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


# A command for shell scripts: ``COMMAND ARGS`` runs ``atende ARGS`` in a child of the zygote.


def client(args: list[str]) -> None:
    """``atende ARGS`` on this process's streams, directory, umask and environment, in a child
    of the zygote at ``$ATENDE_TEST_ZYGOTE``; the signals a shell sends go on to it, and its
    exit status becomes this process's (a signal's too)."""
    environment = dict(os.environ)
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    connection.connect(environment.pop(ADDRESS))
    _, pidfd = ask(connection, args, environment, os.getcwd(), current_umask(), [0, 1, 2])
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(number, lambda number, _: signal.pidfd_send_signal(pidfd, number))
    status = PID.unpack(connection.recv(PID.size))[0]
    if status < 0:
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
    sys.exit(status)


# The client side: in the test process.


class Zygote:
    """The session's zygote process, started on first use."""

    def __init__(self) -> None:
        self.owner = os.getpid()  # a fork of the test process (multiprocessing) leaves it be
        self.directory = Path(tempfile.mkdtemp(prefix="atende-zygote-"))
        self.address = str(self.directory / "socket")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        listener.bind(self.address)
        listener.listen(64)
        self.log = self.directory / "zygote.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, __file__, "serve", str(listener.fileno())],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                pass_fds=[listener.fileno()],
            )
        listener.close()

    def connect(self) -> socket.socket:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        connection.connect(self.address)
        return connection

    def stop(self) -> None:
        if os.getpid() != self.owner:
            return
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)
        for path in self.directory.iterdir():
            path.unlink()
        self.directory.rmdir()


_zygote: Zygote | None = None


def zygote() -> Zygote:
    """The zygote of this test process: started the first time, stopped at its exit."""
    global _zygote
    if _zygote is None:
        _zygote = Zygote()
        atexit.register(_zygote.stop)
    return _zygote


class Process:
    """``atende ARGS`` forked by the zygote: the parts of :class:`subprocess.Popen` the tests
    use. ``stdin``, ``stdout``, ``stderr``: ``subprocess.PIPE``, ``subprocess.DEVNULL``, a file
    descriptor or file, or None (this process's own); pipes are text (UTF-8)."""

    def __init__(
        self,
        args: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        umask: int | None = None,
        stdin: int | IO[Any] | None = None,
        stdout: int | IO[Any] | None = None,
        stderr: int | IO[Any] | None = None,
    ) -> None:
        self.args = ["atende", *args]
        self.returncode: int | None = None
        opened: list[int] = []  # the child's ends, closed here once the zygote has them
        pipes: list[IO[str] | None] = []
        fds = []
        for number, wanted in enumerate((stdin, stdout, stderr)):
            ours: IO[str] | None = None
            if wanted == subprocess.PIPE:
                read, write = os.pipe()
                theirs, mine = (read, write) if number == 0 else (write, read)
                ours = open(mine, "w" if number == 0 else "r", encoding="utf-8")  # noqa: SIM115
                fd = theirs
                opened.append(theirs)
            elif wanted == subprocess.DEVNULL:
                fd = os.open(os.devnull, os.O_RDWR)
                opened.append(fd)
            elif wanted is None:  # this process's own, or nothing there: /dev/null
                fd = number if valid(number) else os.open(os.devnull, os.O_RDWR)
                opened += [] if fd == number else [fd]
            else:
                fd = wanted if isinstance(wanted, int) else wanted.fileno()
            fds.append(fd)
            pipes.append(ours)
        self.stdin, self.stdout, self.stderr = pipes
        self._connection = zygote().connect()
        try:
            self.pid, self._pidfd = ask(
                self._connection,
                args,
                os.environ if env is None else env,
                os.fspath(cwd or os.getcwd()),
                current_umask() if umask is None else umask,
                fds,
            )
        finally:
            for fd in opened:
                os.close(fd)

    def poll(self) -> int | None:
        if self.returncode is None:
            self._connection.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                self._receive_status()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._connection.setblocking(True)
            self._connection.settimeout(timeout)
            try:
                self._receive_status()
            except TimeoutError:
                raise subprocess.TimeoutExpired(self.args, timeout or 0) from None
        assert self.returncode is not None
        return self.returncode

    def _receive_status(self) -> None:
        message = self._connection.recv(PID.size)
        if not message:
            raise RuntimeError("the zygote ended before this command did")
        self.returncode = PID.unpack(message)[0]
        self._connection.close()
        os.close(self._pidfd)

    def send_signal(self, number: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # it has just ended
                signal.pidfd_send_signal(self._pidfd, number)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def communicate(
        self, input: str | None = None, timeout: float | None = None
    ) -> tuple[str, str]:
        """Write ``input`` to the child's stdin pipe and close it; then everything the child
        writes to its stdout and stderr pipes, once it has ended."""
        out: list[str] = []
        err: list[str] = []
        readers = [
            threading.Thread(target=lambda s=stream, to=into: to.append(s.read()), daemon=True)
            for stream, into in ((self.stdout, out), (self.stderr, err))
            if stream is not None
        ]
        for reader in readers:
            reader.start()
        if self.stdin is not None:
            with self.stdin as stdin, contextlib.suppress(BrokenPipeError):
                stdin.write(input or "")
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            self.wait(timeout)
            for reader in readers:  # a process it started may hold the pipes still
                reader.join(None if deadline is None else max(0, deadline - time.monotonic()))
                if reader.is_alive():
                    raise subprocess.TimeoutExpired(self.args, timeout or 0)
        except subprocess.TimeoutExpired:
            self.kill()
            self.wait()
            raise
        for stream in (self.stdout, self.stderr):
            if stream is not None:
                stream.close()
        return "".join(out), "".join(err)


def run(
    args: Sequence[str], env: Mapping[str, str], timeout: float, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run([python, -m, atende.cli, *args], capture_output=True, text=True)``,
    with ``input`` on its stdin when given."""
    stdin = None if input is None else subprocess.PIPE
    process = Process(args, env, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = process.communicate(input, timeout)
    return subprocess.CompletedProcess(process.args, process.wait(), stdout, stderr)


if __name__ == "__main__":
    if sys.argv[1] == "run":
        client(sys.argv[2:])
    else:
        main()
