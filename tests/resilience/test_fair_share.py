"""localspot.fair_share: the counts workers share, and how long a busier worker declines a connection.
How connections actually split between live workers: test_workers.py."""

from __future__ import annotations

import asyncio
import os
import socket
from types import SimpleNamespace

import uvicorn

from localspot import fair_share
from localspot.fair_share import ConnectionCounts, FairShareServer


def test_counts_are_shared_with_forked_workers_and_compare_open_then_accepted():
    counts = ConnectionCounts(2)
    counts.accepting(0, True)
    pid = os.fork()
    if pid == 0:  # a worker in slot 1 starts accepting, takes two connections and closes one
        counts.accepting(1, True)
        counts.opened(1)
        counts.opened(1)
        counts.closed(1)
        os._exit(0)
    os.waitpid(pid, 0)
    assert counts.load(1) == (1, 2)
    assert counts.busier_than_another(1) and not counts.busier_than_another(0)
    counts.opened(0)  # one open each: slot 0 has accepted fewer in all, so slot 1 is still the busier
    assert counts.busier_than_another(1) and not counts.busier_than_another(0)


def test_no_connection_is_left_to_a_worker_that_does_not_accept():
    """Starting, stopping, dead or paused: such a worker's low counts must not make the others decline."""
    counts = ConnectionCounts(3)
    for slot in range(3):
        counts.accepting(slot, True)
    counts.opened(0)
    counts.opened(2)
    assert counts.busier_than_another(0)  # slot 1 holds nothing
    counts.accepting(1, False)  # e.g. it is shutting down
    assert not counts.busier_than_another(0)
    counts.opened(1)
    counts.reset(1)  # it died: the supervisor clears its slot, which accepts nothing until a new worker starts
    assert counts.load(1)[0] == 0 and not counts.busier_than_another(0)


def test_a_new_worker_starts_level_with_the_others_accepted_totals():
    counts = ConnectionCounts(3)
    for _ in range(5):
        counts.opened(0)
    for _ in range(3):
        counts.opened(2)
    counts.reset(1)
    assert counts.load(1) == (0, 3)  # not 0: it would win every tie until it had accepted 3 more


def test_a_busier_worker_declines_one_pending_connection_for_a_bounded_time(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(fair_share.time, "monotonic", lambda: now[0])
    counts = ConnectionCounts(2)
    with socket.socket() as listener:
        server = FairShareServer(uvicorn.Config(app=None), listener, counts, 0)
        started = now[0]
        while now[0] - started < fair_share.DECLINE_S:  # tries, near or far apart, while it stays pending
            assert server._declines()
            now[0] += fair_share.DECLINE_S / 8
        assert not server._declines()  # nobody took it within DECLINE_S: this worker takes it
        counts.opened(1)  # the other worker takes a connection: the next pending one is another
        assert server._declines()


def test_a_closed_connection_leaves_its_workers_count():
    config = uvicorn.Config(app=None, ws="none")
    config.load()
    counts = ConnectionCounts(1)

    async def serve_one_connection_until_the_client_leaves() -> None:
        with socket.socket() as listener:
            server = FairShareServer(config, listener, counts, 0)
            server.lifespan = SimpleNamespace(state={})  # what uvicorn's startup sets before making protocols
            served, client = socket.socketpair()
            counts.opened(0)  # as _accept_pending counts it
            await server._hand_over(asyncio.get_running_loop(), server._protocol_factory(), served)
            assert counts.load(0) == (1, 1)
            client.close()
            for _ in range(100):
                if counts.load(0)[0] == 0:
                    break
                await asyncio.sleep(0.01)

    asyncio.run(serve_one_connection_until_the_client_leaves())
    assert counts.load(0) == (0, 1)


def test_a_busier_worker_leaves_a_pending_connection_to_the_other(monkeypatch):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)  # as startup() sets it
        counts = ConnectionCounts(2)
        counts.accepting(1, True)
        counts.opened(0)
        server = FairShareServer(uvicorn.Config(app=None), listener, counts, 0)
        client = socket.create_connection(listener.getsockname())
        accepted: list[socket.socket] = []
        monkeypatch.setattr(server, "_hand_over", lambda _loop, _protocol, connection: connection)
        try:
            monkeypatch.setattr(server, "_declines", lambda: True)
            server._accept_pending(_NoLoop(accepted), None)
            assert accepted == [] and counts.load(0) == (1, 1)
            monkeypatch.setattr(server, "_declines", lambda: False)  # the other worker never came
            server._accept_pending(_NoLoop(accepted), None)
            assert len(accepted) == 1 and counts.load(0) == (2, 2)
        finally:
            client.close()
            for connection in accepted:
                connection.close()


class _NoLoop:
    """Records what `_accept_pending` hands over to the event loop (here, the accepted connections)."""

    def __init__(self, started: list) -> None:
        self.started = started

    def create_task(self, handed_over):  # noqa: ANN001, ANN201
        self.started.append(handed_over)
        return _DoneTask()


class _DoneTask:
    def add_done_callback(self, _callback) -> None:  # noqa: ANN001
        pass
