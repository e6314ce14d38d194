"""`localspot serve --workers N`: N server processes forked from one that has already imported LocalSpot
and set up the database, each accepting on a socket of its own on the same port (`Supervisor._listen`).

uvicorn's own process manager spawns each worker as a fresh interpreter, which imports everything again:
with two workers, start-up to the first answer took 1.23-1.90 s in the benchmark, and its supervisor
process (which had imported LocalSpot to migrate the database) stayed resident beside them. Forked
workers start with the imports done (0.75-1.31 s), and share those pages until they write to them.

The parent only supervises. It holds no thread, no database connection and no event loop (the set-up
closed them), so it can fork a replacement for a worker that died at any time. Each worker builds its
own app, engine and connections after the fork (`cli.app_from_env`).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import threading
import time
from typing import Any

import uvicorn

log = logging.getLogger("localspot")

RESTART_DELAY_S = 0.5  # before replacing a worker that died; doubled while replacements die young
MAX_RESTART_DELAY_S = 30.0
YOUNG_S = 5.0  # a worker that dies sooner than this after its fork counts as a failed start
STARTUP_FAILURE = 3  # uvicorn's exit code when the app could not start
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process receives when its parent dies


class Supervisor:
    def __init__(self, config: uvicorn.Config, workers: int) -> None:
        self.config = config
        self.workers = workers
        self.children: dict[int, tuple[socket.socket, float]] = {}  # pid -> (its socket, when forked)
        self.sockets: list[socket.socket] = []
        self.inherited: dict[int, Any] = {}  # each stop signal's handling before ours (SIG_IGN under nohup)
        self.first_workers: set[int] = set()
        self.stopping = False
        self.exit_code = 0
        self.restart_delay_s = RESTART_DELAY_S

    def run(self) -> int:
        """Serve until SIGINT, SIGTERM or SIGHUP; returns the exit code for the `localspot` command."""
        _no_other_threads()
        try:
            self.sockets = self._listen()
        except OSError as exc:  # the port is taken, say
            log.error("cannot listen on %s:%s: %s", self.config.host, self.config.port, exc)
            return STARTUP_FAILURE
        for signum in STOP_SIGNALS:
            self.inherited[signum] = signal.getsignal(signum)
            if self.inherited[signum] is not signal.SIG_IGN:  # nohup's ignored SIGHUP stays ignored
                signal.signal(signum, self._stop)
        try:
            for sock in self.sockets:
                if not self.stopping:
                    self.first_workers.add(self._fork(sock))
            self._supervise()
        finally:
            for sock in set(self.sockets):
                sock.close()
        return self.exit_code

    def _listen(self) -> list[socket.socket]:
        """A listening socket per worker, all on one port (`SO_REUSEPORT`), where the kernel spreads new
        connections over them by address. On one shared socket, whichever idle worker woke first took
        every pending connection (asyncio accepts in a loop): a client's 4 keep-alive connections, opened
        together, all landed on one worker and left the other core idle. Elsewhere than Linux
        `SO_REUSEPORT` does not spread connections, so the workers share one socket there."""
        config = self.config
        shared = not sys.platform.startswith("linux")
        # Any process of this user may join a port's SO_REUSEPORT group: a second LocalSpot started on a
        # taken port would silently share its connections. Taking the port plainly first fails instead.
        port = config.port if shared else _unclaimed(config.host, config.port)
        first = _listening(config.host, port, config.backlog, reuse_port=not shared)
        port = first.getsockname()[1]
        others = [
            first if shared else _listening(config.host, port, config.backlog, True) for _ in range(1, self.workers)
        ]
        host = f"[{config.host}]" if ":" in config.host else config.host
        log.info("LocalSpot running on http://%s:%s with %s workers (Press CTRL+C to quit)", host, port, self.workers)
        return [first, *others]

    def _fork(self, sock: socket.socket) -> int:
        supervisor = os.getpid()
        # Until the child has its own handlers, a stop signal must wait: delivered to the child, it would
        # run this process's handler there, and the worker would go on serving.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = self._work(sock, supervisor)
            finally:
                os._exit(code)  # never return into the supervisor's code
        self.children[pid] = (sock, time.monotonic())
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # a pending stop signal is handled here
        return pid

    def _work(self, sock: socket.socket, supervisor: int) -> int:
        for signum in STOP_SIGNALS:  # as they were before the supervisor's; uvicorn installs its own
            signal.signal(signum, self.inherited[signum])
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        for other in set(self.sockets) - {sock}:
            other.close()
        if not _stop_with(supervisor):
            return 0
        server = uvicorn.Server(self.config)
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:  # SIGINT with Python's handler: uvicorn re-raises it after shutting down
            pass
        except BaseException:  # SystemExit is uvicorn's way out when the app cannot start
            if server.started:
                log.exception("worker %s stopped on an error", os.getpid())
                return 1
        return 0 if server.started else STARTUP_FAILURE

    def _supervise(self) -> None:
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                return
            sock, forked = self.children.pop(pid)  # wait() reports only children, all recorded at fork
            code = os.waitstatus_to_exitcode(status)
            if self.stopping:
                continue
            if code == STARTUP_FAILURE and pid in self.first_workers:
                # The app cannot start at all (no database, say): more forks would fail the same way.
                log.error("worker %s could not start; stopping", pid)
                self.exit_code = STARTUP_FAILURE
                self._stop()
                continue
            self._replace(pid, code, sock, young=time.monotonic() - forked < YOUNG_S)

    def _replace(self, pid: int, code: int, sock: socket.socket, young: bool) -> None:
        """Fork a worker in place of one that died; its socket stayed open here, so connections the kernel
        sent it meanwhile wait for the new one."""
        self.restart_delay_s = min(self.restart_delay_s * 2, MAX_RESTART_DELAY_S) if young else RESTART_DELAY_S
        log.warning("worker %s exited (%s); starting another in %.1f s", pid, code, self.restart_delay_s)
        time.sleep(self.restart_delay_s)
        if not self.stopping:
            self._fork(sock)

    def _stop(self, *_signal: object) -> None:
        # A second stop signal asks for a quick exit: SIGINT is uvicorn's force-quit once it is stopping.
        signum = signal.SIGINT if self.stopping else signal.SIGTERM
        self.stopping = True
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):  # it died and awaits its wait()
                os.kill(pid, signum)


def _no_other_threads() -> None:
    """Forking copies only the calling thread: another thread's locks (SQLite's among them) would stay
    held forever in every worker. The set-up closed its connections and its WAL checkpointer."""
    others = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
    if others:
        log.warning("forking workers while other threads run: %s", ", ".join(others))


def _unclaimed(host: str, port: int) -> int:
    """The port (a free one for 0), after checking that no one listens on it; OSError if someone does."""
    with _socket(host) as probe:
        probe.bind((host, port))
        return probe.getsockname()[1]


def _socket(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past connections' TIME_WAIT do not count
    return sock


def _listening(host: str, port: int, backlog: int, reuse_port: bool) -> socket.socket:
    sock = _socket(host)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(backlog)  # connections queue from now on, before the workers are up
    return sock


def _stop_with(supervisor: int) -> bool:
    """Have the kernel send this worker SIGTERM when the supervisor dies (Linux), so that a supervisor
    killed with SIGKILL leaves no workers holding the port; False if it is already gone."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    return os.getppid() == supervisor  # it may have died before prctl took effect
