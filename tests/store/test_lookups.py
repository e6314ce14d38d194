"""Lookups by a list of ids or unique values: one bound parameter whatever the list's length, and an
index search per item on SQLite (a JSON array read by `json_each`) as on PostgreSQL (`= ANY`); records
by unique value in one statement (`find_held`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import orjson
import pytest

from localspot.store.base import StoredObject
from localspot.store.records import _FIND_UNIQUE, _RECORD_VERSIONS, _held_objects, _objects_by_id
from localspot.store.sql import SqlStore
from tests.store.test_statements import counting

KEYS = [f"key-{n}" for n in range(150)] + ["quote \"and\" 'apostrophe'", "naïve ☃", "[1, 2]", "k,1"]


@contextmanager
def migrated(database_url: str) -> Iterator[SqlStore]:
    store = SqlStore(database_url)
    store.migrate()
    try:
        yield store
    finally:
        store.dispose()


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    with migrated(database_url) as store:
        yield store


def test_many_keys_find_their_records_and_nothing_else(store: SqlStore, portal_id: int) -> None:
    with store.write(portal_id) as tx:
        tx.create_portal(0)
        ids = tx.allocate_ids(len(KEYS))
        tx.insert_objects("0-27", [StoredObject(i, {"k": k}, 1, 1) for i, k in zip(ids, KEYS, strict=True)])
        tx.claim_unique("0-27", [("ext", k, i) for i, k in zip(ids, KEYS, strict=True)])
    with counting(store.engine) as statements, store.read(portal_id) as tx:
        found = tx.find_unique("0-27", "ext", [*KEYS, "absent", "KEY-1"])
        records = tx.load_objects("0-27", [*ids, max(ids) + 1000])
    assert found == dict(zip(KEYS, ids, strict=True))
    assert sorted(records) == sorted(ids)
    assert {r.properties["k"] for r in records.values()} == set(KEYS)
    lookups = [s for s in statements if s.startswith("SELECT")]
    assert len(lookups) == 2  # one statement each, not one per key


def test_records_by_unique_value_in_one_statement(store: SqlStore, portal_id: int) -> None:
    with store.write(portal_id) as tx:
        tx.create_portal(0)
        *ids, gone = tx.allocate_ids(len(KEYS) + 1)
        rows = [StoredObject(i, {"k": k}, 1, 1) for i, k in zip(ids, KEYS, strict=True)]
        tx.insert_objects("0-27", [*rows, StoredObject(gone, {}, 1, 2, True, 2)])
        tx.claim_unique("0-27", [("ext", k, i) for i, k in zip(ids, KEYS, strict=True)])
        tx.claim_unique("0-27", [("other", "key-1", ids[0]), ("other", "gone", gone)])
    # ("other", "key-2") is not held, though "other" and "key-2" each are: the cross product is dropped.
    wanted = [("ext", k) for k in KEYS] + [("other", "key-1"), ("other", "key-2"), ("ext", "absent")]
    with counting(store.engine) as statements, store.read(portal_id) as tx:
        live = tx.find_held("0-27", wanted)
        archived = tx.find_held("0-27", [("other", "gone")], archived=True)
        hidden = tx.find_held("0-27", [("other", "gone")])
        anything = tx.find_held("0-27", [("other", "gone")], archived=None)
    assert set(live) == {("ext", k) for k in KEYS} | {("other", "key-1")}
    assert {key: r.id for key, r in live.items() if key[0] == "ext"} == dict(zip(wanted, ids, strict=False))
    assert live[("other", "key-1")] == live[("ext", KEYS[0])] == StoredObject(ids[0], {"k": KEYS[0]}, 1, 1)
    assert archived == anything == {("other", "gone"): StoredObject(gone, {}, 1, 2, True, 2)}
    assert hidden == {}
    assert len([s for s in statements if s.startswith("SELECT")]) == 4  # one statement per call


def _plan(store: SqlStore, lookup, params: dict) -> list[str]:  # noqa: ANN001
    params = {k: orjson.dumps(v).decode() if isinstance(v, list) else v for k, v in params.items()}
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {lookup.sql(conn)}", params).all()
    return [row[-1] for row in rows]


def test_sqlite_searches_the_index_for_each_item(sqlite_database: str) -> None:
    """Unique values are searched by their primary key, the table itself (revision 0003: WITHOUT ROWID),
    so the record id comes from the key's own leaf; records by id, and records held by a unique value,
    straight by their rowid, which is their id (revision 0004), not through the key's index and then the
    table: the list of ids is the outer loop (records._of_ids)."""
    with migrated(sqlite_database) as store:
        unique, by_id, held = _sqlite_plans(store)
        versions = _plan(store, _RECORD_VERSIONS, {"portal": 1, "type": "0-27", "ids": [1, 2]})
    by_key = "SEARCH unique_values USING PRIMARY KEY"
    assert any(p.startswith(by_key) and "value=?" in p for p in unique), unique
    for plan in (by_id, versions):
        assert plan[0].startswith("SCAN ids VIRTUAL TABLE"), plan  # the ids asked for, one by one
        assert plan[1] == "SEARCH objects USING INTEGER PRIMARY KEY (rowid=?)", plan
    assert any(p.startswith(by_key) and "value=?" in p for p in held), held
    assert any(p.startswith("SEARCH objects USING INTEGER PRIMARY KEY") for p in held), held
    assert not [p for p in unique + by_id + versions + held if p.startswith(("SCAN unique_values", "SCAN objects"))]


def _sqlite_plans(store: SqlStore) -> tuple[list[str], list[str], list[str]]:
    keys = {"portal": 1, "type": "0-27", "archived": False}
    unique = _plan(store, _FIND_UNIQUE, {**keys, "prop": "ext", "values": ["a", "b"]})
    by_id = _plan(store, _objects_by_id(True, True), {**keys, "ids": [1, 2]})
    held = _plan(store, _held_objects(True, True), {**keys, "names": ["ext"], "values": ["a", "b"]})
    return unique, by_id, held
