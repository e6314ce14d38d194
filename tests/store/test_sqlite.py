"""SQLite's helpers: WAL checkpoints run on a thread of their own, never inside a writer's COMMIT."""

from __future__ import annotations

import contextlib
import sqlite3
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from localspot.store.base import StoredObject
from localspot.store.driver import ManyRows
from localspot.store.sql import SqlStore
from localspot.store.sqlite import IDLE_CONNECTIONS, WalCheckpointer

TASKS = "0-27"


DATA_BYTES = 20 * 100 * 2_000  # what _write_twenty_batches stores


def _sizes(path: Path) -> tuple[int, int]:
    """(database file, WAL file) sizes. Asking SQLite would not do: its `wal_checkpoint(NOOP)` probe is
    3.47+, and older versions run an unknown mode as a PASSIVE checkpoint."""
    return path.stat().st_size, Path(f"{path}-wal").stat().st_size


def _write_twenty_batches(store: SqlStore) -> None:
    for n in range(20):
        _write_records(store, 1, 1_000 + n * 100, 100)


def _write_records(store: SqlStore, portal_id: int, first_id: int, count: int) -> None:
    with store.write(portal_id) as tx:
        rows = [StoredObject(i, {"hs_task_subject": "x" * 2_000}, 1, 1) for i in range(first_id, first_id + count)]
        tx.insert_objects(TASKS, rows)


@pytest.fixture
def sqlite_store(tmp_path: Path):  # noqa: ANN201
    path = tmp_path / "wal.db"
    store = SqlStore(f"sqlite:///{path}")
    store.migrate()
    with store.write(1) as tx:
        tx.create_portal(1)
    yield store, path
    store.dispose()


def test_commits_leave_checkpoints_to_the_checkpointer(sqlite_store: tuple[SqlStore, Path]) -> None:
    store, path = sqlite_store
    store.checkpointer.close()  # no background checkpoints: what is left is what COMMIT does itself
    _write_twenty_batches(store)
    database, wal = _sizes(path)
    # SQLite's default would have checkpointed at 1,000 pages (4 MB) and started the WAL over.
    assert wal > DATA_BYTES
    assert database < DATA_BYTES / 4


def test_the_checkpointer_copies_the_wal_back_soon_after_writes(sqlite_store: tuple[SqlStore, Path]) -> None:
    store, path = sqlite_store
    _write_twenty_batches(store)
    deadline = time.monotonic() + 10
    while _sizes(path)[0] < DATA_BYTES and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _sizes(path)[0] >= DATA_BYTES


def _wal_frames(path: Path) -> int:
    """The frames the WAL holds, after a PASSIVE checkpoint copied back what it could."""
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return WalCheckpointer._passive(connection)


def test_the_writer_after_the_wal_grows_long_finishes_the_copy_and_the_next_write_starts_it_over(
    sqlite_store: tuple[SqlStore, Path],
) -> None:
    store, path = sqlite_store
    store.checkpointer.close()
    store.checkpointer = WalCheckpointer(str(path), delay_s=60, restart_bytes=100_000)  # this test runs its steps
    _write_twenty_batches(store)
    with contextlib.closing(sqlite3.connect(path)) as reader:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM objects").fetchall()  # an older snapshot: copied up to here only
        _write_records(store, 1, 9_000, 100)
        with contextlib.closing(sqlite3.connect(path)) as connection:
            store.checkpointer._checkpoint(connection)
        assert store.checkpointer._restart_due.is_set()  # past 100 KB
        reader.rollback()
    _write_records(store, 1, 10_000, 1)  # commits, then copies back the rest with the writer lock held
    assert not store.checkpointer._restart_due.is_set()
    long_wal = Path(f"{path}-wal").stat().st_size
    _write_records(store, 1, 10_001, 1)  # starts the WAL over: its frames are this write's alone
    assert _wal_frames(path) < 10
    assert Path(f"{path}-wal").stat().st_size == long_wal  # overwritten from the start, not cut
    with store.read(1) as tx:
        assert len(tx.load_objects(TASKS, [1_000, 2_999, 9_099, 10_000, 10_001])) == 5


def test_a_copy_that_fails_after_a_commit_does_not_fail_the_write(
    sqlite_store: tuple[SqlStore, Path], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store, _path = sqlite_store
    store.checkpointer._restart_due.set()

    def fails(_connection: object) -> int:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(WalCheckpointer, "_passive", staticmethod(fails))
    _write_records(store, 1, 5_000, 1)
    assert "WAL checkpoint after a commit failed: disk on fire" in caplog.text
    with store.read(1) as tx:
        assert list(tx.load_objects(TASKS, [5_000])) == [5_000]


def test_a_wal_short_of_its_bound_is_left_to_the_checkpointer(sqlite_store: tuple[SqlStore, Path]) -> None:
    store, path = sqlite_store
    store.checkpointer.close()
    store.checkpointer = WalCheckpointer(str(path), delay_s=60, restart_bytes=1_000_000_000)
    _write_twenty_batches(store)
    with contextlib.closing(sqlite3.connect(path)) as connection:
        store.checkpointer._checkpoint(connection)
    assert not store.checkpointer._restart_due.is_set()


@pytest.mark.parametrize("page_size", [2048, 4096])
def test_the_wal_bound_counts_bytes_whatever_the_page_size(tmp_path: Path, page_size: int) -> None:
    path = tmp_path / "bound.db"
    with contextlib.closing(sqlite3.connect(path)) as made_before:  # e.g. by an earlier LocalSpot, or by hand
        made_before.execute(f"PRAGMA page_size={page_size}")
        made_before.execute("PRAGMA journal_mode=WAL")
    store = SqlStore(f"sqlite:///{path}")
    store.migrate()
    store.checkpointer.close()
    with store.write(1) as tx:
        tx.create_portal(1)
    _write_twenty_batches(store)
    wal_bytes = _wal_frames(path) * page_size
    with contextlib.closing(sqlite3.connect(path)) as connection:
        short = WalCheckpointer(str(path), restart_bytes=wal_bytes + 1)
        short._checkpoint(connection)
        assert not short._restart_due.is_set()
        reached = WalCheckpointer(str(path), restart_bytes=wal_bytes)
        reached._checkpoint(connection)
        assert reached._restart_due.is_set()
    store.dispose()


def test_new_databases_get_2_kib_pages_and_existing_ones_keep_theirs(tmp_path: Path) -> None:
    with contextlib.closing(sqlite3.connect(tmp_path / "old.db")) as made_before:
        made_before.execute("PRAGMA journal_mode=WAL")  # SQLite's default page size, 4 KiB
    for name in ("new.db", "old.db"):
        store = SqlStore(f"sqlite:///{tmp_path / name}")
        store.migrate()
        with store.write(1) as tx:
            tx.create_portal(1)
        _write_records(store, 1, 1, 10)
        store.dispose()
    page_sizes = {}
    for name in ("new.db", "old.db"):
        with contextlib.closing(sqlite3.connect(tmp_path / name)) as connection:
            page_sizes[name] = connection.execute("PRAGMA page_size").fetchone()[0]
            assert connection.execute("SELECT count(*) FROM objects").fetchone() == (10,)
    assert page_sizes == {"new.db": 2048, "old.db": 4096}


def test_a_closed_checkpointer_stops_its_thread(tmp_path: Path) -> None:
    checkpointer = WalCheckpointer(str(tmp_path / "x.db"), delay_s=0)
    sqlite3.connect(tmp_path / "x.db").execute("PRAGMA journal_mode=WAL").fetchall()
    checkpointer.committed()
    thread = checkpointer._thread
    assert thread is not None and thread.is_alive()
    checkpointer.close()
    assert not thread.is_alive()
    checkpointer.committed()  # after close: nothing starts again
    assert checkpointer._thread is thread


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priority is Linux's")
def test_the_checkpointer_thread_runs_at_the_lowest_priority(tmp_path: Path) -> None:
    """Requests go before checkpoints (store.sqlite._yield_to_requests); the rest of the process keeps its
    priority."""
    before = _nice(threading.get_native_id())
    if before == 19:
        pytest.skip("the suite itself runs at nice 19")
    with contextlib.closing(sqlite3.connect(tmp_path / "x.db")) as setup:
        setup.execute("PRAGMA journal_mode=WAL").fetchall()
    checkpointer = WalCheckpointer(str(tmp_path / "x.db"), delay_s=60)
    checkpointer.committed()
    try:
        thread = checkpointer._thread
        assert thread is not None
        deadline = time.monotonic() + 5
        while _nice(thread.native_id) != 19 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _nice(thread.native_id) == 19
        assert _nice(threading.get_native_id()) == before
    finally:
        checkpointer.close()


def _nice(thread_id: int) -> int:
    stat = Path(f"/proc/self/task/{thread_id}/stat").read_text()
    return int(stat.rpartition(")")[2].split()[16])  # field 19 of proc(5), counted after the name


def test_closing_runs_a_waiting_checkpoint_at_once(tmp_path: Path) -> None:
    """A checkpoint waits CHECKPOINT_DELAY_S for more commits; shutting down must not wait that long, and
    still leaves the commits copied into the database file, wherever the thread was when close() came."""
    path = tmp_path / "x.db"
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("PRAGMA journal_mode=WAL").fetchall()
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.execute("CREATE TABLE t (x)")
        writer.executemany("INSERT INTO t VALUES (?)", [("x" * 1000,) for _ in range(500)])
        before = path.stat().st_size
        checkpointer = WalCheckpointer(str(path), delay_s=60)
        checkpointer.committed()
        started = time.monotonic()
        checkpointer.close()
        assert time.monotonic() - started < 5
        assert path.stat().st_size > before + 400_000
    finally:
        writer.close()


def test_in_memory_databases_have_no_checkpointer() -> None:
    checkpointer = WalCheckpointer(":memory:")
    checkpointer.committed()
    assert checkpointer._thread is None


def test_a_driver_statement_refuses_columns_out_of_bind_order(sqlite_store: tuple[SqlStore, Path]) -> None:
    store, _ = sqlite_store
    table = sa.Table("pairs", sa.MetaData(), sa.Column("a", sa.Integer), sa.Column("b", sa.Integer))
    # The statement binds `a` first (the table's order); the rows would bring `b` first.
    insert = table.insert().values(b=sa.bindparam("p_b"), a=sa.bindparam("p_a"))
    statement = ManyRows(table, ("b", "a"), insert, document_sql="")
    with store.engine.connect() as conn, pytest.raises(ValueError, match="not in the order"):
        statement.run(conn, [(1, 2)])


# --- connections kept open between transactions --------------------------------------------------------


def test_transactions_take_the_connection_the_last_one_put_back(sqlite_store: tuple[SqlStore, Path]) -> None:
    store, _ = sqlite_store
    with store.read(1) as tx:
        first = tx.conn
    with store.write(1) as tx:
        assert tx.conn is first  # the same Connection: no pool checkout, its page cache warm
    with store.read(1) as outer, store.read(1) as inner:  # two at once: a second one is opened
        assert outer.conn is first and inner.conn is not first
        second = inner.conn
    with store.read(1) as tx:
        assert tx.conn is first  # the last put back comes first
    assert not first.closed and not second.closed


def test_a_transaction_that_failed_closes_its_connection(sqlite_store: tuple[SqlStore, Path]) -> None:
    store, _ = sqlite_store
    with pytest.raises(RuntimeError), store.write(2) as tx:
        failed = tx.conn
        tx.create_portal(5)
        raise RuntimeError("the batch failed")
    assert failed.closed  # not kept: back to the pool, which resets it (and drops it if it was lost)
    with store.read(2) as tx:
        assert tx.conn is not failed
        assert not tx.portal_exists()  # rolled back


def test_connections_open_at_once_are_kept_up_to_the_bound(sqlite_store: tuple[SqlStore, Path]) -> None:
    store, _ = sqlite_store
    with contextlib.ExitStack() as stack:
        opened = [stack.enter_context(store.read(1)).conn for _ in range(IDLE_CONNECTIONS + 2)]
    kept = [conn for conn in opened if not conn.closed]
    assert len(kept) == IDLE_CONNECTIONS  # the others went back to the engine's pool
    with store.engine.connect() as conn:  # which has some to hand out
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    store.dispose()
    assert all(conn.closed for conn in opened)


def test_transactions_send_their_begin_without_engine_events(sqlite_store: tuple[SqlStore, Path]) -> None:
    """SQLAlchemy dispatches every connection event through the engine's listeners once it has one."""
    store, _ = sqlite_store
    assert not store.engine.dispatch.begin  # no listener of SQLAlchemy's `begin` event
    with store.write(1) as tx, contextlib.closing(sqlite3.connect(store.engine.url.database, timeout=0)) as other:
        assert tx.conn.connection.driver_connection.in_transaction
        with pytest.raises(sqlite3.OperationalError, match="locked"):  # BEGIN IMMEDIATE: the lock taken up front
            other.execute("BEGIN IMMEDIATE")
