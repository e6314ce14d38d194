"""Connections shared fairly between `--workers`: every worker accepts on the one listening socket, and a
worker that holds more connections than another leaves a pending one to it.

A client keeps its few keep-alive connections for the whole of its work, so where they land decides how
the load splits. The kernel's own spreading (a socket per worker with `SO_REUSEPORT`, by address) put 3
of 4 connections on one worker half of the time, and all 4 one time in eight: that worker queued three
batches while the other waited for one, and batch upsert p99 went from 35-40 ms to 53-67 ms
(docs/benchmarks.md). On one shared socket as uvicorn serves it, whichever worker woke first accepted
every pending connection (uvloop accepts until none is left).

So each worker accepts for itself (`FairShareServer`), one connection at a time, and counts those it
holds in memory all workers share (`ConnectionCounts`, mapped by the supervisor before it forks them).
It declines a pending connection while another worker that is accepting holds fewer, or as many but
has accepted fewer in all (so that short connections go round). A worker starting up, shutting down,
dead or paused after an accept error is not accepting, and no connection waits for it. A worker that
declines is woken again while the connection is pending; if no other worker has taken it after
`DECLINE_S`, it takes the connection itself, busy or not, so that a worker stuck in a long request
does not leave it waiting.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import mmap
import os
import socket
import time
from typing import Any

import uvicorn

log = logging.getLogger("localspot")

DECLINE_S = 0.02  # the longest a worker declines a pending connection before it takes it itself
ACCEPT_PAUSE_S = 1.0  # after an accept error such as EMFILE, as asyncio pauses its own servers


class ConnectionCounts:
    """Per worker slot: whether its worker accepts connections now, those it holds open and those it ever
    accepted, in shared memory. A slot is written by its worker, and by the supervisor while it has none;
    others only read it. An aligned 8-byte store is atomic on the platforms we run on."""

    FIELDS = 3  # accepting (0 or 1), open, accepted in all

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._memory = mmap.mmap(-1, 8 * self.FIELDS * workers)  # anonymous, shared: forked workers see one copy
        self._counts = memoryview(self._memory).cast("q")

    def reset(self, slot: int) -> None:
        """The slot has no worker (it died, or is about to be forked): nothing to accept, nothing open. Its
        accepted total starts level with the other slots', so that a new worker does not win every tie
        until it has caught up with their lifetimes."""
        base = self.FIELDS * slot
        self._counts[base] = self._counts[base + 1] = 0
        self._counts[base + 2] = min((self.load(other)[1] for other in self._others(slot)), default=0)

    def accepted_by_others(self, slot: int) -> int:
        return sum(self.load(other)[1] for other in self._others(slot))

    def accepting(self, slot: int, accepting: bool) -> None:
        self._counts[self.FIELDS * slot] = int(accepting)

    def opened(self, slot: int) -> None:
        self._counts[self.FIELDS * slot + 1] += 1
        self._counts[self.FIELDS * slot + 2] += 1

    def closed(self, slot: int) -> None:
        self._counts[self.FIELDS * slot + 1] -= 1

    def load(self, slot: int) -> tuple[int, int]:
        """(open, accepted in all): the smaller pair is the less busy worker."""
        base = self.FIELDS * slot
        return self._counts[base + 1], self._counts[base + 2]

    def busier_than_another(self, slot: int) -> bool:
        """Whether another worker that accepts connections now is less busy than this one."""
        mine = self.load(slot)
        return any(self._counts[self.FIELDS * other] and self.load(other) < mine for other in self._others(slot))

    def _others(self, slot: int) -> list[int]:
        return [other for other in range(self.workers) if other != slot]


class FairShareServer(uvicorn.Server):
    """uvicorn's server for one worker, accepting on the shared listening socket itself (see above)."""

    def __init__(self, config: uvicorn.Config, listener: socket.socket, counts: ConnectionCounts, slot: int) -> None:
        super().__init__(config)
        self.listener, self.counts, self.slot = listener, counts, slot
        self._declining_since = 0.0
        self._others_accepted: int | None = None  # their accepted total when this worker began declining
        self._handing_over: set[asyncio.Task] = set()  # referenced until done: the loop keeps weak ones only
        self._resume: asyncio.TimerHandle | None = None  # accepting again after an accept error

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # the app and its lifespan; no listening server of uvicorn's own
        self.listener.setblocking(False)
        self._start_accepting(asyncio.get_running_loop(), self._protocol_factory())

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._stop_accepting(asyncio.get_running_loop())  # no new connection from now on
        if self._resume is not None:
            self._resume.cancel()
        self.listener.close()
        if self._handing_over:  # connections accepted but not yet served: uvicorn's shutdown must see them
            await asyncio.wait(list(self._handing_over))
        await super().shutdown(sockets)

    def _start_accepting(self, loop: asyncio.AbstractEventLoop, protocol: Any) -> None:
        self._resume = None
        loop.add_reader(self.listener.fileno(), self._accept_pending, loop, protocol)
        self.counts.accepting(self.slot, True)

    def _stop_accepting(self, loop: asyncio.AbstractEventLoop) -> None:
        self.counts.accepting(self.slot, False)  # the other workers stop leaving connections to this one
        loop.remove_reader(self.listener.fileno())

    def _protocol_factory(self) -> Any:
        """uvicorn's HTTP protocol, as its own `startup` makes it, leaving the worker's count on close."""
        counts, slot = self.counts, self.slot

        class CountedProtocol(self.config.http_protocol_class):  # type: ignore[name-defined, misc]
            def connection_lost(self, exc: Exception | None) -> None:
                counts.closed(slot)
                super().connection_lost(exc)

        return functools.partial(
            CountedProtocol, config=self.config, server_state=self.server_state, app_state=self.lifespan.state
        )

    def _accept_pending(self, loop: asyncio.AbstractEventLoop, protocol: Any) -> None:
        """The listening socket is readable: accept what is pending, one connection at a time, while no
        other worker is less busy."""
        while not (self.counts.busier_than_another(self.slot) and self._declines()):
            try:
                connection, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return  # none pending (another worker took it), or the client gave up
            except OSError as exc:  # out of file descriptors, say: pause rather than spin on it
                log.error("cannot accept connections (%s); trying again in %s s", exc, ACCEPT_PAUSE_S)
                self._stop_accepting(loop)
                self._resume = loop.call_later(ACCEPT_PAUSE_S, self._start_accepting, loop, protocol)
                return
            self._others_accepted = None  # the next pending connection is declined afresh
            self.counts.opened(self.slot)  # counted now: the next turn of this loop must see it
            task = loop.create_task(self._hand_over(loop, protocol, connection))
            self._handing_over.add(task)
            task.add_done_callback(self._handing_over.discard)
        os.sched_yield()  # declined: the worker that should take it may be waiting for this core

    async def _hand_over(self, loop: asyncio.AbstractEventLoop, protocol: Any, connection: socket.socket) -> None:
        try:
            await loop.connect_accepted_socket(protocol, connection)
        except OSError:  # the connection died before it could be served: connection_lost never comes
            self.counts.closed(self.slot)
            connection.close()

    def _declines(self) -> bool:
        """Whether to leave the pending connection to a less busy worker: for DECLINE_S at most. While no
        other worker accepts anything, it is the same connection still pending, however far apart this
        worker's tries come (back to back while it is idle, between its requests while it is busy)."""
        now = time.monotonic()
        others = self.counts.accepted_by_others(self.slot)
        if others != self._others_accepted:  # another worker took a connection: this is a new one
            self._others_accepted = others
            self._declining_since = now
        return now - self._declining_since < DECLINE_S
