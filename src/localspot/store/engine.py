"""Engines for both backends, with the connection settings that make SQLite safe for concurrent writers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from localspot.store.driver import driver_rows, register_sqlite_binds

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_KIB = 24 * 1024
# Page size of the SQLite databases LocalSpot creates (SQLite's default is 4 KiB). A batch upsert updates
# records at scattered places, a page each: its COMMIT appends every page it touched to the WAL, and the
# checkpoint copies them back. With 2 KiB pages a batch of 100 upserts appended 335 KiB of WAL instead of
# 493 (517 against 791 at a million records; measured before revision 0005 dropped the history index,
# whose pages were a third of them), and 2 workers ran 17-60% more records/s (6 interleaved pairs, 10k
# and 1M records); 1 KiB pages were no faster at 10k and mixed at 1M, and would spread larger records
# over overflow pages. Reads, batch create and a single worker's upserts
# were unchanged (docs/benchmarks.md, eighth round). An existing database keeps its page size: SQLite
# changes it only by rewriting the file (docs/scale-out.md).
SQLITE_PAGE_SIZE = 2048


def _json_dumps(value: object) -> str:
    return orjson.dumps(value).decode()


def normalize_url(url: str) -> str:
    """Accept `postgresql://` and `sqlite:///` as users write them; pick the drivers LocalSpot ships."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    if "://" not in url:
        return f"sqlite:///{url}"
    return url


def create_engine(url: str, pool_size: int = 10) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return sa.create_engine(
        url,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_use_lifo=True,  # reuse the most recent connection: fewer idle ones, warmer server caches
    )


def _sqlite_engine(url: str) -> Engine:
    register_sqlite_binds()
    engine = sa.create_engine(
        url,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        pool_use_lifo=True,  # a few connections stay hot, with their page caches warm
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        # The sqlite3 module begins no transaction itself: `transaction` sends each BEGIN. (So a bare
        # `engine.begin()` runs its statements one at a time, each its own transaction, on SQLite.)
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Before anything writes the file's header (journal_mode=WAL does): a no-op on an existing database.
        cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
        # WAL: readers never block the writer. synchronous=NORMAL in WAL mode survives a process crash
        # (kill -9): a committed transaction is in the WAL file before COMMIT returns.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Commits never checkpoint (which fsyncs while holding the writer lock): a thread does it
        # (store.sqlite.WalCheckpointer).
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # 24 MiB of page cache per connection (default 2 MiB): at a million records the indexes an
        # upsert walks no longer fit the default, and lookups went to the OS for every page. Each pooled
        # connection has its own cache: 64 MiB took a 4-connection server to 333 MB at a million
        # records; 24 MiB keeps it near 170 MB (docs/benchmarks.md).
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


@contextmanager
def transaction(conn: Connection, write: bool) -> Iterator[Connection]:
    """One transaction on `conn`: committed at the end, rolled back on an exception.

    The sqlite3 module, told not to (`_on_connect`), begins none itself: on SQLite this sends the BEGIN.
    Writers take the lock up front (BEGIN IMMEDIATE), so a read-then-write batch cannot be overtaken by
    another writer between its read and its write, in this process or another. Sent here rather than
    from a listener of SQLAlchemy's `begin` event: an engine with connection events dispatches every
    event of every connection through them. Opening a connection, beginning and committing an empty
    transaction and closing took ~50 us with that listener, ~37 without."""
    with conn.begin():
        if conn.dialect.name == "sqlite":
            driver_rows(conn, "BEGIN IMMEDIATE" if write else "BEGIN DEFERRED", ())
        yield conn
