"""On SQLite the hot statements go straight to the sqlite3 connection (store.driver), past SQLAlchemy's
execution context, unless something listens for statements; a driver error is raised as SQLAlchemy
raises it either way, so the store turns it into the same error."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import pytest
import sqlalchemy as sa

from localspot.store.base import HistoryEntry, StoredObject, StoreUnavailable, WriteConflict
from localspot.store.driver import driver_many, driver_rows
from localspot.store.sql import SqlStore
from tests.store.test_statements import counting

TASKS = "0-27"


@pytest.fixture
def store(tmp_path: Path, portal_id: int) -> Iterator[SqlStore]:
    s = SqlStore(f"sqlite:///{tmp_path / 'driver.db'}")
    s.migrate()
    with s.write(portal_id) as tx:
        tx.create_portal(1)
    yield s
    s.dispose()


def test_statements_go_to_sqlite3_unless_something_listens_for_them(store: SqlStore, portal_id: int) -> None:
    with store.read(portal_id) as tx:
        bare = driver_rows(tx.conn, "SELECT 1, 'a'", ())
    with counting(store.engine) as statements, store.read(portal_id) as tx:
        seen = driver_rows(tx.conn, "SELECT 1, 'a'", ())
    assert type(bare[0]) is tuple  # the sqlite3 module's own rows: SQLAlchemy made none
    assert type(seen[0]) is not tuple  # SQLAlchemy's rows: it ran the statement, and the listener saw it
    assert statements == ["BEGIN DEFERRED", "SELECT 1, 'a'"]
    assert list(seen) == bare


def test_a_batch_upserts_statements_all_go_to_sqlite3(
    store: SqlStore, portal_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer-lock path: BEGIN, the schema version, the id counter, the lookup and the writes."""

    def through_sqlalchemy(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a hot statement went through SQLAlchemy's execution context")

    monkeypatch.setattr(sa.engine.Connection, "execute", through_sqlalchemy)
    monkeypatch.setattr(sa.engine.Connection, "exec_driver_sql", through_sqlalchemy)
    with store.write(portal_id) as tx:  # its BEGIN IMMEDIATE too
        version = tx.schema_version()
        ids = tx.allocate_ids(2)
        records = [StoredObject(i, {"ext_id": f"k{i}"}, 5, 5) for i in ids]
        tx.insert_objects(TASKS, records)
        tx.claim_unique(TASKS, [("ext_id", f"k{i}", i) for i in ids])
        held = tx.find_held(TASKS, [("ext_id", f"k{i}") for i in ids])
        tx.update_objects(TASKS, [r._replace(updated_at=6) for r in records])
        history = zip(tx.allocate(0, 2)[1], ids, strict=True)
        tx.append_history(TASKS, [(h, i, None, HistoryEntry(6, "API", None, {"ext_id": f"k{i}"})) for h, i in history])
    monkeypatch.undo()
    assert version == 0
    assert held == {("ext_id", f"k{i}"): r for i, r in zip(ids, records, strict=True)}
    with store.read(portal_id) as tx:
        assert [r.updated_at for r in tx.load_objects(TASKS, ids).values()] == [6, 6]
        assert tx.allocate_ids(1) == [ids[-1] + 1]


@pytest.mark.parametrize("listened", [False, True], ids=["sqlite3", "through SQLAlchemy"])
def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(store: SqlStore, portal_id: int, listened: bool) -> None:
    with counting(store.engine) if listened else nullcontext(), store.read(portal_id) as tx:
        with pytest.raises(sa.exc.IntegrityError) as taken:
            driver_many(
                tx.conn, "INSERT INTO portals (portal_id, next_object_id, created_at) VALUES (?, 1, 0)", [(7,), (7,)]
            )
        assert isinstance(taken.value.orig, sqlite3.IntegrityError)
        with pytest.raises(sa.exc.OperationalError) as wrong:
            driver_rows(tx.conn, "SELECT x FROM nowhere", ())
        assert "no such table: nowhere" in str(wrong.value.orig)


@pytest.mark.parametrize("listened", [False, True], ids=["sqlite3", "through SQLAlchemy"])
def test_a_value_taken_twice_is_a_write_conflict_and_writes_nothing(
    store: SqlStore, portal_id: int, listened: bool
) -> None:
    watching = counting(store.engine) if listened else nullcontext()
    with watching, pytest.raises(WriteConflict), store.write(portal_id) as tx:
        tx.claim_unique(TASKS, [("ext_id", "once", 1)])
        tx.claim_unique(TASKS, [("ext_id", "once", 2)])
    with store.read(portal_id) as tx:
        assert tx.find_unique(TASKS, "ext_id", ["once"]) == {}


def test_a_lost_connection_is_reported_as_one_and_left_out_of_the_pool(store: SqlStore, portal_id: int) -> None:
    with pytest.raises(StoreUnavailable), store.read(portal_id) as tx:
        tx.conn.connection.driver_connection.close()
        tx.schema_version()
    with store.read(portal_id) as tx:  # a new connection: the closed one was dropped
        assert tx.schema_version() == 0


def test_none_and_bools_bind_through_registered_adapters(store: SqlStore, portal_id: int) -> None:
    """Without an adapter of its own, Python 3.11's sqlite3 searches for one on every None and bool it binds
    (building and dropping an AttributeError each time); registered there, they bind as they did: NULL,
    0 and 1. Later versions search cheaply and get none."""
    registered = sys.version_info < (3, 12)
    assert ((type(None), sqlite3.PrepareProtocol) in sqlite3.adapters) is registered
    assert ((bool, sqlite3.PrepareProtocol) in sqlite3.adapters) is registered
    with store.read(portal_id) as tx:
        rows = driver_rows(tx.conn, "SELECT ?, typeof(?), ?, typeof(?), ?", (None, None, True, False, False))
    assert rows == [(None, "null", 1, "integer", 0)]
