"""Lookups by a list of ids or unique values: one bound parameter whatever the list's length, and an
index search per item on SQLite (a JSON array read by `json_each`) as on PostgreSQL (`= ANY`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import orjson
import pytest

from localspot.store.base import StoredObject
from localspot.store.records import _find_unique, _objects_by_id
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


def _plan(store: SqlStore, statement, params: dict) -> list[str]:  # noqa: ANN001
    compiled = statement.compile(dialect=store.engine.dialect)
    values = [params[name] for name in compiled.positiontup]
    values = [orjson.dumps(v).decode() if isinstance(v, list) else v for v in values]
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", tuple(values)).all()
    return [row[-1] for row in rows]


def test_sqlite_searches_the_index_for_each_item(sqlite_database: str) -> None:
    with migrated(sqlite_database) as store:
        plans = _sqlite_plans(store)
    assert any(p.startswith("SEARCH unique_values USING INDEX") and "value=?" in p for p in plans[0]), plans
    assert any(p.startswith("SEARCH objects USING INDEX") and "id=?" in p for p in plans[1]), plans
    assert not [p for p in plans[0] + plans[1] if p.startswith(("SCAN unique_values", "SCAN objects"))]


def _sqlite_plans(store: SqlStore) -> tuple[list[str], list[str]]:
    unique = _plan(store, _find_unique(True), {"portal": 1, "type": "0-27", "prop": "ext", "values": ["a", "b"]})
    by_id = _plan(
        store, _objects_by_id(True, True, True), {"portal": 1, "type": "0-27", "ids": [1, 2], "archived": False}
    )
    return unique, by_id
