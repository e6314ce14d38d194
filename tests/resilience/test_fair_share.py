"""localspot.fair_share: the counts workers share, and how long a busier worker declines a connection.
How connections actually split between live workers: test_workers.py."""

from __future__ import annotations

import os
import socket

import uvicorn

from localspot import fair_share
from localspot.fair_share import ConnectionCounts, FairShareServer


def test_counts_are_shared_with_forked_workers_and_compare_open_then_accepted():
    counts = ConnectionCounts(2)
    pid = os.fork()
    if pid == 0:  # a worker in slot 1 takes two connections and closes one
        counts.opened(1)
        counts.opened(1)
        counts.closed(1)
        os._exit(0)
    os.waitpid(pid, 0)
    assert counts.load(1) == (1, 2)
    assert counts.busier_than_another(1) and not counts.busier_than_another(0)
    counts.opened(0)  # one open each: slot 0 has accepted fewer in all, so slot 1 is still the busier
    assert counts.busier_than_another(1) and not counts.busier_than_another(0)
    counts.reset(1)  # its worker died: a replacement starts from nothing
    assert counts.load(1) == (0, 0) and counts.busier_than_another(0)


def test_a_busier_worker_declines_back_to_back_for_a_bounded_time(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(fair_share.time, "monotonic", lambda: now[0])
    with socket.socket() as listener:
        server = FairShareServer(uvicorn.Config(app=None), listener, ConnectionCounts(2), 0)
        started = now[0]
        while now[0] - started < fair_share.DECLINE_S:  # spinning on the same pending connection
            assert server._declines()
            now[0] += fair_share.BACK_TO_BACK_S / 4
        assert not server._declines()  # spun for DECLINE_S: it takes the connection
        now[0] += 5 * fair_share.BACK_TO_BACK_S  # a pause: the next connection is declined afresh
        assert server._declines()


def test_a_busier_worker_leaves_a_pending_connection_to_the_other(monkeypatch):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)  # as startup() sets it
        counts = ConnectionCounts(2)
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
