"""`localspot serve --workers N`: N server processes forked from one that has already imported LocalSpot
and set up the database, sharing its listening socket fairly (`localspot.fair_share`).

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
import gc
import logging
import os
import signal
import socket
import sys
import threading
import time
from typing import Any

import uvicorn

from localspot.fair_share import ConnectionCounts, FairShareServer

log = logging.getLogger("localspot")

RESTART_DELAY_S = 0.5  # before replacing a worker that died; doubled while replacements die young
MAX_RESTART_DELAY_S = 30.0
YOUNG_S = 5.0  # a worker that dies sooner than this after its fork counts as a failed start
STARTUP_FAILURE = 3  # uvicorn's exit code when the app could not start
DEATH_POLL_S = 0.05  # how often a restart delay looks for other workers that died
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process receives when its parent dies


class Supervisor:
    def __init__(self, config: uvicorn.Config, workers: int) -> None:
        self.config = config
        self.workers = workers
        self.children: dict[int, tuple[int, float]] = {}  # pid -> (its slot, when forked)
        self.listener: socket.socket | None = None
        self.connections = ConnectionCounts(workers)  # mapped here, shared by every worker forked after
        self.inherited: dict[int, Any] = {}  # each stop signal's handling before ours (SIG_IGN under nohup)
        self.first_workers: set[int] = set()
        self.stopping = False
        self.exit_code = 0
        self.restart_delay_s = RESTART_DELAY_S

    def run(self) -> int:
        """Serve until SIGINT, SIGTERM or SIGHUP; returns the exit code for the `localspot` command."""
        _no_other_threads()
        try:
            self.listener = self._listen()
        except OSError as exc:  # the port is taken, say
            log.error("cannot listen on %s:%s: %s", self.config.host, self.config.port, exc)
            return STARTUP_FAILURE
        for signum in STOP_SIGNALS:
            self.inherited[signum] = signal.getsignal(signum)
            if self.inherited[signum] is not signal.SIG_IGN:  # nohup's ignored SIGHUP stays ignored
                signal.signal(signum, self._stop)
        # What the workers inherit (imported modules, above all) stays out of their garbage collector's
        # sight: collecting would write to every object's header, and copy pages they now share.
        gc.collect()  # garbage frozen now would stay in every worker for good
        gc.freeze()
        try:
            for slot in range(self.workers):
                if not self.stopping:
                    self.first_workers.add(self._fork(slot))
            self._supervise()
        finally:
            self.listener.close()
        return self.exit_code

    def _listen(self) -> socket.socket:
        """The one listening socket every worker accepts on (`localspot.fair_share` spreads connections)."""
        config = self.config
        sock = _socket(config.host)
        sock.bind((config.host, config.port))  # a port another server listens on fails here
        sock.listen(config.backlog)  # connections queue from now on, before the workers are up
        host = f"[{config.host}]" if ":" in config.host else config.host
        port = sock.getsockname()[1]
        log.info("LocalSpot running on http://%s:%s with %s workers (Press CTRL+C to quit)", host, port, self.workers)
        return sock

    def _fork(self, slot: int) -> int:
        supervisor = os.getpid()
        # Until the child has its own handlers, a stop signal must wait: delivered to the child, it would
        # run this process's handler there, and the worker would go on serving.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        self.connections.reset(slot)  # a dead worker's connections died with it
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = self._work(slot, supervisor)
            finally:
                os._exit(code)  # never return into the supervisor's code
        self.children[pid] = (slot, time.monotonic())
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # a pending stop signal is handled here
        return pid

    def _work(self, slot: int, supervisor: int) -> int:
        for signum in STOP_SIGNALS:  # as they were before the supervisor's; uvicorn installs its own
            signal.signal(signum, self.inherited[signum])
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        if not _stop_with(supervisor):
            return 0
        server = FairShareServer(self.config, self.listener, self.connections, slot)
        try:
            server.run()
        except KeyboardInterrupt:  # SIGINT with Python's handler: uvicorn re-raises it after shutting down
            pass
        except BaseException as exc:  # SystemExit is uvicorn's way out when the app cannot start
            if server.started:
                log.exception("worker %s stopped on an error", os.getpid())
                return 1
            if not isinstance(exc, SystemExit):  # uvicorn reported its own reasons; leave a trace of others
                log.exception("worker %s could not start", os.getpid())
        return 0 if server.started else STARTUP_FAILURE

    def _supervise(self) -> None:
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                return
            slot, forked = self.children.pop(pid)  # wait() reports only children, all recorded at fork
            self.connections.reset(slot)  # its connections died with it; no one should wait for it
            code = os.waitstatus_to_exitcode(status)
            if self.stopping:
                continue
            if code == STARTUP_FAILURE and pid in self.first_workers:
                # The app cannot start at all (no database, say): more forks would fail the same way.
                log.error("worker %s could not start; stopping", pid)
                self.exit_code = STARTUP_FAILURE
                self._stop()
                continue
            self._replace(pid, code, slot, young=time.monotonic() - forked < YOUNG_S)

    def _replace(self, pid: int, code: int, slot: int, young: bool) -> None:
        """Fork a worker in place of one that died; the other workers accept new connections meanwhile."""
        self.restart_delay_s = min(self.restart_delay_s * 2, MAX_RESTART_DELAY_S) if young else RESTART_DELAY_S
        log.warning("worker %s exited (%s); starting another in %.1f s", pid, code, self.restart_delay_s)
        self._wait_noticing_deaths(self.restart_delay_s)
        if not self.stopping:
            self._fork(slot)

    def _wait_noticing_deaths(self, seconds: float) -> None:
        """Sleep, but clear the slot of any other worker that dies meanwhile (left unreaped for the loop in
        `_supervise`): the live workers must stop leaving connections to it now, not after the delay."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and not self.stopping:
            time.sleep(min(left, DEATH_POLL_S))
            for pid, (slot, _) in list(self.children.items()):
                if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                    self.connections.reset(slot)

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


def _socket(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past connections' TIME_WAIT do not count
    return sock


def _stop_with(supervisor: int) -> bool:
    """Have the kernel send this worker SIGTERM when the supervisor dies (Linux), so that a supervisor
    killed with SIGKILL leaves no workers holding the port; False if it is already gone."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    return os.getppid() == supervisor  # it may have died before prctl took effect
