"""`localspot serve --workers N`: N server processes forked from one that has already imported LocalSpot
and set up the database, each accepting on a socket of its own on the same port (`Supervisor._listen`).

uvicorn's own process manager spawns each worker as a fresh interpreter, which imports everything again:
with two workers, start-up to the first answer took 1.2-1.9 s against 0.7-0.95 s for one, and its
supervisor process (which had imported LocalSpot to migrate the database) stayed resident beside them.
Forked workers start with the imports done, and share those pages until they write to them.

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
import time

import uvicorn

log = logging.getLogger("localspot")

RESTART_DELAY_S = 0.5  # between a worker's death and its replacement: a crash loop must not spin
STARTUP_FAILURE = 3  # uvicorn's exit code when the app could not start
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process receives when its parent dies


class Supervisor:
    def __init__(self, config: uvicorn.Config, workers: int) -> None:
        self.config = config
        self.workers = workers
        self.children: dict[int, socket.socket] = {}  # worker pid -> the socket it accepts on
        self.stopping = False
        self.exit_code = 0

    def run(self) -> int:
        """Serve until SIGINT, SIGTERM or SIGHUP; returns the exit code for the `localspot` command."""
        try:
            sockets = self._listen()
        except OSError as exc:  # the port is taken, say
            log.error("cannot listen on %s:%s: %s", self.config.host, self.config.port, exc)
            return STARTUP_FAILURE
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._stop)
        try:
            for sock in sockets:
                self._fork(sock)
            self._supervise()
        finally:
            for sock in set(sockets):
                sock.close()
        return self.exit_code

    def _listen(self) -> list[socket.socket]:
        """A listening socket per worker, all on one port (`SO_REUSEPORT`), where the kernel spreads new
        connections over them by address. On one shared socket, whichever idle worker woke first took
        every pending connection (asyncio accepts in a loop): a client's 4 keep-alive connections, opened
        together, often all landed on one worker and left the other core idle. Elsewhere than Linux
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
        log.info(
            "LocalSpot running on http://%s:%s with %s workers (Press CTRL+C to quit)", config.host, port, self.workers
        )
        return [first, *others]

    def _fork(self, sock: socket.socket) -> None:
        supervisor = os.getpid()
        pid = os.fork()
        if pid == 0:
            os._exit(self._work(sock, supervisor))  # never return into the parent's loop
        self.children[pid] = sock
        if self.stopping:  # a signal arrived between the fork and the line above
            os.kill(pid, signal.SIGTERM)

    def _work(self, sock: socket.socket, supervisor: int) -> int:
        # The parent's handlers would signal its children from here; uvicorn installs the worker's own.
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        if not _stop_with(supervisor):
            return 0
        server = uvicorn.Server(self.config)
        try:
            server.run(sockets=[sock])
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
            sock = self.children.pop(pid, None)
            code = os.waitstatus_to_exitcode(status)
            if self.stopping or sock is None:
                continue
            if code == STARTUP_FAILURE:
                # The app cannot start (the database went away, say): another fork would fail the same way.
                log.error("worker %s could not start; stopping", pid)
                self.exit_code = STARTUP_FAILURE
                self._stop()
                continue
            # Its socket stayed open here, so connections the kernel sent it meanwhile wait for the next.
            log.warning("worker %s exited (%s); starting another", pid, code)
            time.sleep(RESTART_DELAY_S)
            if not self.stopping:
                self._fork(sock)

    def _stop(self, *_signal: object) -> None:
        self.stopping = True
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):  # it died and awaits its wait()
                os.kill(pid, signal.SIGTERM)


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
    sock.set_inheritable(True)
    return sock


def _stop_with(supervisor: int) -> bool:
    """Have the kernel send this worker SIGTERM when the supervisor dies (Linux), so that a supervisor
    killed with SIGKILL leaves no workers holding the port; False if it is already gone."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    return os.getppid() == supervisor  # it may have died before prctl took effect
