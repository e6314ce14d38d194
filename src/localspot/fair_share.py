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
It declines a pending connection while another worker holds fewer, or as many but has accepted fewer in
all (so that short connections go round). A worker that declines is woken again at once, the connection
being still pending: to bound that spinning, one that has declined back to back for `DECLINE_S` takes
the connection, busy or not (the other worker is stuck in a long request, say). A worker busy with
requests of its own tries now and then, not back to back, and goes on declining.
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

DECLINE_S = 0.01  # the longest a worker spins declining a connection before it accepts it
BACK_TO_BACK_S = 0.001  # tries this close follow each other while one connection is pending
ACCEPT_PAUSE_S = 1.0  # after an accept error such as EMFILE, as asyncio pauses its own servers


class ConnectionCounts:
    """Per worker slot, the connections it holds open and those it ever accepted, in shared memory.

    Each count is written only by the worker in its slot (and reset by the supervisor while the slot has
    no worker); others only read it. An aligned 8-byte store is atomic on the platforms we run on."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._memory = mmap.mmap(-1, 16 * workers)  # anonymous and shared: forked workers see one copy
        self._counts = memoryview(self._memory).cast("q")

    def reset(self, slot: int) -> None:
        self._counts[2 * slot] = self._counts[2 * slot + 1] = 0

    def opened(self, slot: int) -> None:
        self._counts[2 * slot] += 1
        self._counts[2 * slot + 1] += 1

    def closed(self, slot: int) -> None:
        self._counts[2 * slot] -= 1

    def load(self, slot: int) -> tuple[int, int]:
        """(open, accepted in all): the smaller pair is the less busy worker."""
        return self._counts[2 * slot], self._counts[2 * slot + 1]

    def busier_than_another(self, slot: int) -> bool:
        mine = self.load(slot)
        return any(self.load(other) < mine for other in range(self.workers) if other != slot)


class FairShareServer(uvicorn.Server):
    """uvicorn's server for one worker, accepting on the shared listening socket itself (see above)."""

    def __init__(self, config: uvicorn.Config, listener: socket.socket, counts: ConnectionCounts, slot: int) -> None:
        super().__init__(config)
        self.listener, self.counts, self.slot = listener, counts, slot
        self._declining_since = self._last_decline = 0.0
        self._handing_over: set[asyncio.Task] = set()  # referenced until done: the loop keeps weak ones only

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # the app and its lifespan; no listening server of uvicorn's own
        loop = asyncio.get_running_loop()
        self.listener.setblocking(False)
        loop.add_reader(self.listener.fileno(), self._accept_pending, loop, self._protocol_factory())

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        asyncio.get_running_loop().remove_reader(self.listener.fileno())  # no new connection from now on
        self.listener.close()
        await super().shutdown(sockets)

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
                fd = self.listener.fileno()
                loop.remove_reader(fd)
                loop.call_later(ACCEPT_PAUSE_S, loop.add_reader, fd, self._accept_pending, loop, protocol)
                return
            self._last_decline = 0.0  # the next pending connection is declined afresh
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
        now = time.monotonic()
        if now - self._last_decline > BACK_TO_BACK_S:
            self._declining_since = now
        self._last_decline = now
        return now - self._declining_since < DECLINE_S
