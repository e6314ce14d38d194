"""The one store implementation, for SQLite and PostgreSQL alike, behind a narrow interface.

`SqlStore.write(portal_id)` opens one transaction for a whole batch; every method of the transaction
runs a bounded number of statements whatever the batch size (IN lists and executemany, never a loop of
round trips). Dialect differences stay inside the store's own modules.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from localspot.store import tables as t
from localspot.store.associations import AssociationOps
from localspot.store.base import StoreUnavailable, WriteConflict
from localspot.store.catalog import CatalogOps
from localspot.store.engine import create_engine, transaction
from localspot.store.merges import MergeOps
from localspot.store.records import RecordOps
from localspot.store.schemas import SchemaOps
from localspot.store.search import SearchOps
from localspot.store.sqlite import IdleConnections, SqliteWriterLock, WalCheckpointer


class SqlStore:
    def __init__(self, url: str, pool_size: int = 10) -> None:
        self.engine: Engine = create_engine(url, pool_size=pool_size)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # SQLite admits one writer at a time. Writers queue on a lock rather than on SQLite's busy
        # handler, which sleeps 1-100 ms between tries and made write p99 over a second under 4
        # connections: see SqliteWriterLock.
        self._sqlite_writer = SqliteWriterLock(self.engine.url.database) if self.is_sqlite else nullcontext()
        self.checkpointer = WalCheckpointer(self.engine.url.database if self.is_sqlite else None)
        # SQLite's connections stay open between transactions; PostgreSQL's pool checks each as it hands it out.
        self._idle = IdleConnections(self.engine) if self.is_sqlite else None
        self._connection = self._idle.connection if self._idle is not None else self.engine.connect

    def migrate(self) -> None:
        from localspot.store.migrate import upgrade

        upgrade(self.engine)

    def dispose(self) -> None:
        self.checkpointer.close()
        if self._idle is not None:
            self._idle.close()
        self.engine.dispose()

    def portal_for_token(self, token: str) -> int | None:
        query = sa.select(t.access_tokens.c.portal_id).where(t.access_tokens.c.token == token)
        with self._connect(write=False) as conn:
            return conn.execute(query).scalar_one_or_none()

    @contextmanager
    def write(self, portal_id: int) -> Iterator[Transaction]:
        with self._sqlite_writer, self._connect(write=True) as conn:
            yield Transaction(conn, portal_id, self.is_sqlite)
        self.checkpointer.committed()

    @contextmanager
    def read(self, portal_id: int) -> Iterator[Transaction]:
        with self._connect(write=False) as conn:
            yield Transaction(conn, portal_id, self.is_sqlite)

    @contextmanager
    def _connect(self, write: bool) -> Iterator[Connection]:
        try:
            with self._connection() as conn:
                with transaction(conn, write):
                    yield conn
                if write:  # committed, and the writer lock (`write`) still held
                    self.checkpointer.finish_if_due(conn)  # a no-op but on SQLite, and there rarely
        except IntegrityError as exc:
            # A key claimed by a racing transaction (a unique value, a property or label name): the
            # caller retries, and the retry sees the winner's row (CrmService._write logs a conflict
            # that never clears, which would be a bug rather than a race).
            raise WriteConflict(str(exc.orig)) from exc
        except DBAPIError as exc:  # OperationalError among others
            if getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
                raise WriteConflict(str(exc.orig)) from exc
            if _is_connection_failure(exc):
                raise StoreUnavailable(str(exc.orig)) from exc
            raise


# PostgreSQL aborts one of two transactions that wait on each other (deadlock) or that cannot be
# serialized; both are safe to run again from the start, like a lost race for a unique value.
RETRYABLE_SQLSTATES = {"40P01", "40001"}


def _is_connection_failure(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    text = str(exc.orig).lower()
    return any(s in text for s in ("connection", "server closed", "terminating", "database is locked"))


class Transaction(RecordOps, AssociationOps, CatalogOps, SearchOps, SchemaOps, MergeOps):
    """Everything a batch may read or write, inside one database transaction of one portal."""

    def __init__(self, conn: Connection, portal_id: int, is_sqlite: bool) -> None:
        self.conn = conn
        self.portal_id = portal_id
        self.is_sqlite = is_sqlite
