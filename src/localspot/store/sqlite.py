"""What SQLite needs to take concurrent writers well: one writer at a time, checkpoints off the
writers' path, and connections kept open between transactions.

All are process-local helpers of `SqlStore`; PostgreSQL needs none.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import sys
import threading
from collections.abc import Iterator
from typing import Any

log = logging.getLogger("localspot")

# How long the checkpointer lets commits pile up before copying them back: one checkpoint per burst.
# Pages written over and over (index pages, the last page of each table) are copied once per checkpoint:
# under sustained batch upserts, 1 s rather than 0.2 s gave 6-14% more records/s (the copying shares
# the machine's cores with the writers). A commit survives a crash of the process either way; with
# synchronous=NORMAL the WAL reaches the disk at checkpoints, so an OS crash or power loss may lose the
# commits of up to about this long (SQLite's documented trade for NORMAL in WAL mode).
CHECKPOINT_DELAY_S = 1.0

# Under sustained writes the WAL never starts over by itself. SQLite rewinds it only when a write
# transaction begins after a checkpoint has copied back every frame, and commits arriving while a
# checkpoint runs leave it short each time: one client's back-to-back batch upserts grew the WAL to
# ~900 MB in 8 s, and a long bulk load would fill the disk. Past this size the writer that commits next
# finishes the copy while it still holds the writer lock, so that nothing lands after it, and the write
# transaction after that starts the WAL over (its file keeps its size). Counted in bytes (frames times
# the page size), so that databases made with other page sizes than store.engine's are bounded alike.
WAL_RESTART_BYTES = 1 << 30


class SqliteWriterLock:
    """One SQLite writer at a time, across threads (a mutex) and across `--workers` processes (`flock` on
    `<database>.lock`). Both wake the next writer as soon as the lock is free."""

    def __init__(self, database: str | None) -> None:
        self._threads = threading.Lock()
        self._path = f"{database}.lock" if _is_file(database) else None
        self._file: int | None = None

    def __enter__(self) -> None:
        self._threads.acquire()
        try:
            if self._path is not None:
                if self._file is None:
                    self._file = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
                fcntl.flock(self._file, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()  # a failed lock file must fail this write, not hang every later one
            raise

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
        self._threads.release()


# Connections `IdleConnections` keeps open at most. A server worker runs its requests' transactions on
# its event loop, one at a time, and looks tokens up from its thread pool, so a few run at once at most;
# more stay open only after more threads ran transactions together (tests), and the engine's pool (5,
# and 10 more on demand) must keep some for whatever opens its own.
IDLE_CONNECTIONS = 4


class IdleConnections:
    """SQLAlchemy connections kept open between transactions, for the next one to take (the last put
    back first, its page cache the warmest).

    Opening a `Connection` for each transaction (a pool checkout, its bookkeeping, and the reset and
    checkin at close) took ~30 us of the ~37 that opening one, an empty transaction and closing took;
    an empty transaction on one kept open takes ~8. A thread takes one for a transaction and puts it
    back after, so no more are open than transactions ran at once, and no two threads use one at a
    time. One whose transaction raised is closed instead, as every connection was before: back to the
    engine's pool, whose reset rolls back whatever was left and which drops one SQLAlchemy found lost.
    SQLite's only: PostgreSQL's pool checks a connection is alive (pre-ping) as it hands it out."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._idle: list[Any] = []
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._engine.connect()
        try:
            yield conn
        except BaseException:
            with contextlib.suppress(Exception):  # the transaction's own error is the one to raise
                conn.close()
            raise
        with self._lock:
            kept = len(self._idle) < IDLE_CONNECTIONS
            if kept:
                self._idle.append(conn)
        if not kept:
            conn.close()  # back to the engine's pool, which others may be waiting on

    def close(self) -> None:
        """Close every idle connection (the store is being disposed of: no transaction runs)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class WalCheckpointer:
    """Copies committed WAL frames back into the database file on a thread of its own.

    With SQLite's default (`wal_autocheckpoint`), the COMMIT that takes the WAL past 1,000 pages runs
    the checkpoint itself, fsync included: one batch in ~25 took 30-40 ms longer, while holding the
    writer lock. Request connections turn that off (store.engine) and this thread checkpoints a moment
    after writes, in PASSIVE mode, which never blocks readers or writers. Durability is unchanged: a
    commit is in the WAL before COMMIT returns, checkpointed or not. When the WAL has grown long, the
    next writer finishes the copy (`finish_if_due`, WAL_RESTART_BYTES) and the WAL starts over.
    """

    def __init__(
        self, database: str | None, delay_s: float = CHECKPOINT_DELAY_S, restart_bytes: int = WAL_RESTART_BYTES
    ) -> None:
        self._database = database if _is_file(database) else None
        self._delay_s = delay_s
        self._restart_bytes = restart_bytes
        self._restart_due = threading.Event()  # the WAL is past restart_bytes: the next writer finishes
        self._wake = threading.Event()
        self._closing = threading.Event()  # set once, by close()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def committed(self) -> None:
        """A write transaction committed: schedule a checkpoint (the thread starts with the first one)."""
        if self._database is None or self._closing.is_set():
            return
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="localspot-wal-checkpoint", daemon=True)
                    self._thread.start()
        self._wake.set()

    def finish_if_due(self, conn: Any) -> None:
        """Called with the writer lock held, right after a commit, on the writer's own connection (SQLAlchemy's,
        out of its transaction): if the WAL has grown past `restart_bytes`, copy back what is left, so that
        the next write transaction starts the WAL over. Every writer waits meanwhile. The WAL goes on if a
        read that began before this copy still runs then, or if another checkpoint was under way: the
        checkpointer's next one asks again."""
        if not self._restart_due.is_set():
            return
        self._restart_due.clear()
        try:
            self._passive(conn.connection.driver_connection)
        except Exception as exc:  # noqa: BLE001 - the write has committed: a copy that failed must not fail it
            log.warning("WAL checkpoint after a commit failed: %s", exc)

    def close(self) -> None:
        self._closing.set()  # a checkpoint waiting for more commits runs now
        self._wake.set()
        if self._thread is not None:
            self._thread.join()  # a checkpoint under way finishes: its connection must not outlive close()

    def _run(self) -> None:
        _yield_to_requests()
        connection = sqlite3.connect(self._database, isolation_level=None)  # used by this thread only
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                self._closing.wait(self._delay_s)  # writes in the meantime join this checkpoint; close cuts it short
                self._checkpoint(connection)  # on close too: what was waiting for the delay
                if self._closing.is_set():  # checked after clear() and the checkpoint: a close in between is not lost
                    return
        finally:
            connection.close()

    def _checkpoint(self, connection: sqlite3.Connection) -> None:
        frames = self._passive(connection)
        if frames is not None and frames * _page_size(connection) >= self._restart_bytes:
            self._restart_due.set()

    @staticmethod
    def _passive(connection: sqlite3.Connection) -> int | None:
        """One PASSIVE checkpoint: the frames the WAL holds, or None if it could not run."""
        try:
            busy, frames, _copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:  # e.g. the file was removed under a test; the next write retries
            log.warning("WAL checkpoint failed: %s", exc)
            return None
        return None if busy else frames  # busy: another connection's checkpoint was under way


def _page_size(connection: sqlite3.Connection) -> int:
    """The database's page size: a WAL frame holds one page (and a 24-byte header)."""
    return connection.execute("PRAGMA page_size").fetchone()[0]


def _yield_to_requests() -> None:
    """Lower this thread's CPU priority to the lowest (nice 19, Linux: per thread).

    A checkpoint copies a second's worth of pages and fsyncs in one burst; under sustained batch upserts
    on two cores that burst took CPU from the requests in flight, whose latency rose for ~100 ms once a
    second (p99). At nice 19 the checkpoint takes far less from requests and runs mostly on what they
    leave, which was enough: in 5 interleaved runs, upsert p99 was lower in all 5 (median 32.5 ms against
    35.4 ms), throughput alike. On a machine saturated for long, checkpoints fall further behind and the
    WAL grows longer before it restarts. Elsewhere setpriority acts on whole processes, and the thread
    keeps the process's priority."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def _is_file(database: str | None) -> bool:
    return bool(database) and database != ":memory:" and not database.startswith("file::memory:")
