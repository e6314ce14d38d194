"""The store's contract, the same on SQLite and PostgreSQL: what `crm/` may rely on whatever the backend."""

from __future__ import annotations

import threading

import pytest

from localspot.store.base import AssociationRow, HistoryEntry, StoredObject, WriteConflict
from localspot.store.sql import SqlStore

TASKS = "0-27"


@pytest.fixture
def store(database_url: str, portal_id: int):  # noqa: ANN201
    s = SqlStore(database_url)
    s.migrate()
    with s.write(portal_id) as tx:
        tx.create_portal(1)
    yield s
    s.dispose()


def _record(record_id: int, **props: str) -> StoredObject:
    return StoredObject(record_id, props, 1_000, 1_000)


def test_allocated_ids_never_repeat_even_across_threads(store: SqlStore, portal_id: int) -> None:
    seen: list[int] = []

    def allocate() -> None:
        for _ in range(10):
            with store.write(portal_id) as tx:
                seen.extend(tx.allocate_ids(7))

    threads = [threading.Thread(target=allocate) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 280 and len(set(seen)) == 280


def test_objects_round_trip_and_update(store: SqlStore, portal_id: int) -> None:
    with store.write(portal_id) as tx:
        tx.insert_objects(TASKS, [_record(1, a="x"), _record(2, a="y")])
    with store.write(portal_id) as tx:
        tx.update_objects(TASKS, [StoredObject(2, {"a": "z", "b": "ü"}, 1_000, 2_000)])
    with store.read(portal_id) as tx:
        loaded = tx.load_objects(TASKS, [1, 2, 3])
        assert loaded[1].properties == {"a": "x"}
        assert loaded[2] == StoredObject(2, {"a": "z", "b": "ü"}, 1_000, 2_000)
        assert 3 not in loaded
        assert tx.load_objects("0-1", [1]) == {}  # ids are per object type


def test_a_unique_value_names_one_record(store: SqlStore, portal_id: int) -> None:
    with store.write(portal_id) as tx:
        tx.claim_unique(TASKS, [("ext", "k1", 1), ("ext", "k2", 2)])
    with pytest.raises(WriteConflict), store.write(portal_id) as tx:
        tx.claim_unique(TASKS, [("ext", "k1", 3)])
    with store.write(portal_id) as tx:
        assert tx.find_unique(TASKS, "ext", ["k1", "k2", "k3"]) == {"k1": 1, "k2": 2}
        tx.release_unique(TASKS, [("ext", "k1")])
        tx.claim_unique(TASKS, [("ext", "k1", 3)])  # a released value can be claimed again
    with store.read(portal_id) as tx:
        assert tx.find_unique(TASKS, "ext", ["k1"]) == {"k1": 3}


def test_a_failed_transaction_writes_nothing(store: SqlStore, portal_id: int) -> None:
    with pytest.raises(WriteConflict), store.write(portal_id) as tx:
        tx.claim_unique(TASKS, [("ext", "dup", 1)])
        tx.insert_objects(TASKS, [_record(50)])
        tx.claim_unique(TASKS, [("ext", "dup", 2)])
    with store.read(portal_id) as tx:
        assert tx.load_objects(TASKS, [50]) == {}
        assert tx.find_unique(TASKS, "ext", ["dup"]) == {}


def test_history_is_listed_newest_first(store: SqlStore, portal_id: int) -> None:
    with store.write(portal_id) as tx:
        tx.append_history(TASKS, [(1, HistoryEntry(10, "INTEGRATION", None, {"a": "1"}))])
        tx.append_history(
            TASKS,
            [
                (1, HistoryEntry(20, "INTEGRATION", None, {"a": "2"})),
                (2, HistoryEntry(15, "INTEGRATION", "x", {"b": None})),
            ],
        )
    with store.read(portal_id) as tx:
        history = tx.load_history(TASKS, [1, 2])
    assert [e.changes for e in history[1]] == [{"a": "2"}, {"a": "1"}]
    assert history[2] == [HistoryEntry(15, "INTEGRATION", "x", {"b": None})]


def test_associations_ignore_repeats_and_read_per_direction(store: SqlStore, portal_id: int) -> None:
    forward = AssociationRow(TASKS, 1, "0-1", 9, "HUBSPOT_DEFINED", 204)
    backward = AssociationRow("0-1", 9, TASKS, 1, "HUBSPOT_DEFINED", 203)
    with store.write(portal_id) as tx:
        tx.insert_objects(TASKS, [_record(1)])
        tx.insert_objects("0-1", [_record(9)])
        tx.insert_associations([forward, backward], 5)
    with store.write(portal_id) as tx:
        tx.insert_associations([forward], 6)  # the same association again is not an error
    with store.read(portal_id) as tx:
        assert tx.load_associations(TASKS, [1], "0-1") == [forward]
        assert tx.load_associations("0-1", [9], TASKS) == [backward]
        assert tx.load_associations(TASKS, [1], "0-2") == []
    with store.write(portal_id) as tx:
        tx.archive_objects("0-1", [9], 7)
    with store.read(portal_id) as tx:  # an archived end hides the association from the other end
        assert tx.load_associations(TASKS, [1], "0-1") == []


def test_listing_pages_in_id_order_and_archiving_frees_unique_values(store: SqlStore, portal_id: int) -> None:
    with store.write(portal_id) as tx:
        tx.insert_objects(TASKS, [_record(n) for n in (5, 3, 8, 1)])
        tx.claim_unique(TASKS, [("ext", "k8", 8)])
        tx.archive_objects(TASKS, [8], 99)
    with store.read(portal_id) as tx:
        assert [r.id for r in tx.list_objects(TASKS, 0, 2, archived=False)] == [1, 3]
        assert [r.id for r in tx.list_objects(TASKS, 4, 10, archived=False)] == [5]
        archived = tx.list_objects(TASKS, 0, 10, archived=True)
        assert [(r.id, r.archived, r.archived_at) for r in archived] == [(8, True, 99)]
        assert tx.find_unique(TASKS, "ext", ["k8"]) == {}


def test_schema_version_and_tokens(store: SqlStore, portal_id: int) -> None:
    with store.write(portal_id) as tx:
        before = tx.schema_version()
        tx.bump_schema_version()
        tx.add_token(f"tok-{portal_id}", 1)
    with store.read(portal_id) as tx:
        assert tx.schema_version() == before + 1
    assert store.portal_for_token(f"tok-{portal_id}") == portal_id
    assert store.portal_for_token("nobody") is None
