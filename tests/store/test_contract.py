"""The store's contract, the same on SQLite and PostgreSQL: what `crm/` may rely on whatever the backend."""

from __future__ import annotations

import threading

import pytest

from localspot.store.base import AssociationRow, HistoryEntry, StoredObject, WriteConflict
from localspot.store.sql import SqlStore
from tests.store.test_statements import counting

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


def test_record_and_history_ids_come_together_in_one_statement(store: SqlStore, portal_id: int) -> None:
    """A write takes both kinds of ids at once: on PostgreSQL one round trip (store.records `allocate`)."""
    on_postgresql = store.engine.dialect.name == "postgresql"
    with store.write(portal_id) as tx:
        with counting(store.engine) as statements:
            records, history = tx.allocate(3, 2)
        if on_postgresql:  # each kind from its own sequence (same session: currval)
            last_history = tx.conn.exec_driver_sql("SELECT currval('property_history_id_seq')").scalar_one()
    assert len(records) == len(set(records)) == 3 and records == sorted(records)
    assert len(history) == len(set(history)) == 2 and history == sorted(history)
    if on_postgresql:
        assert len([s for s in statements if "nextval" in s]) == 1 and last_history == history[-1]
    with store.write(portal_id) as tx:
        assert min(tx.allocate_ids(1)) > max(records)


def _ids(store: SqlStore, portal_id: int, count: int) -> list[int]:
    """Ids as the store gives them: unique across the portals that share this database (on SQLite a
    record's id is its row's key, revision 0004)."""
    with store.write(portal_id) as tx:
        return tx.allocate_ids(count)


def test_allocated_ids_are_unique_across_portals(store: SqlStore, portal_id: int) -> None:
    other = portal_id + 500_000  # another portal in the same database
    with store.write(other) as tx:
        tx.create_portal(1)
    mine = _ids(store, portal_id, 5)
    theirs = _ids(store, other, 5)
    again = _ids(store, portal_id, 5)
    assert not set(theirs) & set(mine + again)
    with store.write(portal_id) as tx:
        tx.insert_objects(TASKS, [_record(n) for n in mine])
    with store.write(other) as tx:
        tx.insert_objects(TASKS, [_record(n) for n in theirs])
    with store.read(other) as tx:
        assert sorted(tx.load_objects(TASKS, mine + theirs)) == theirs


def test_objects_round_trip_and_update(store: SqlStore, portal_id: int) -> None:
    one, two, absent = _ids(store, portal_id, 3)
    with store.write(portal_id) as tx:
        tx.insert_objects(TASKS, [_record(one, a="x"), _record(two, a="y")])
    with store.write(portal_id) as tx:
        tx.update_objects(TASKS, [StoredObject(two, {"a": "z", "b": "ü"}, 1_000, 2_000)])
    with store.read(portal_id) as tx:
        loaded = tx.load_objects(TASKS, [one, two, absent])
        assert loaded[one].properties == {"a": "x"}
        assert loaded[two] == StoredObject(two, {"a": "z", "b": "ü"}, 1_000, 2_000)
        assert absent not in loaded
        assert tx.load_objects("0-1", [one]) == {}  # ids are per object type


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
    [record] = _ids(store, portal_id, 1)
    with pytest.raises(WriteConflict), store.write(portal_id) as tx:
        tx.claim_unique(TASKS, [("ext", "dup", 1)])
        tx.insert_objects(TASKS, [_record(record)])
        tx.claim_unique(TASKS, [("ext", "dup", 2)])
    with store.read(portal_id) as tx:
        assert tx.load_objects(TASKS, [record]) == {}
        assert tx.find_unique(TASKS, "ext", ["dup"]) == {}


def test_history_is_each_records_chain_newest_first(store: SqlStore, portal_id: int) -> None:
    """A record names its newest history row and each row the one before it (revision 0005)."""
    first, second = _ids(store, portal_id, 2)
    with store.write(portal_id) as tx:
        [h1] = tx.allocate(0, 1)[1]
        tx.insert_objects(TASKS, [_record(first)._replace(history_head=h1), _record(second)])
        tx.append_history(TASKS, [(h1, first, None, HistoryEntry(10, "INTEGRATION", None, {"a": "1"}))])
    with store.write(portal_id) as tx:
        h2, h3 = tx.allocate(0, 2)[1]
        heads = [_record(first)._replace(history_head=h2), _record(second)._replace(history_head=h3)]
        tx.update_objects(TASKS, heads)
        tx.append_history(
            TASKS,
            [
                (h2, first, h1, HistoryEntry(20, "INTEGRATION", None, {"a": "2"})),
                (h3, second, None, HistoryEntry(15, "INTEGRATION", "x", {"b": None})),
            ],
        )
    with store.read(portal_id) as tx:
        history = tx.load_history(TASKS, [first, second])
        assert {r.id: r.history_head for r in tx.load_objects(TASKS, [first, second]).values()} == {
            first: h2,
            second: h3,
        }
    assert h1 < h2 < h3  # ids grow: each history row lands at the table's end
    assert [e.changes for e in history[first]] == [{"a": "2"}, {"a": "1"}]
    assert history[second] == [HistoryEntry(15, "INTEGRATION", "x", {"b": None})]


def test_purging_records_removes_their_history_chains_only(store: SqlStore, portal_id: int) -> None:
    gone, kept = _ids(store, portal_id, 2)
    with store.write(portal_id) as tx:
        ids = tx.allocate(0, 4)[1]
        tx.insert_objects(
            TASKS, [_record(gone)._replace(history_head=ids[2]), _record(kept)._replace(history_head=ids[3])]
        )
        entry = HistoryEntry(1, "API", None, {})
        tx.append_history(
            TASKS,
            [
                (ids[0], gone, None, entry),
                (ids[1], kept, None, entry),
                (ids[2], gone, ids[0], entry),
                (ids[3], kept, ids[1], entry),
            ],
        )
    with store.write(portal_id) as tx:
        tx.purge_objects(TASKS, [gone])
    with store.read(portal_id) as tx:
        assert tx.load_history(TASKS, [gone, kept]) == {kept: [entry, entry]}
        left = tx.conn.exec_driver_sql("SELECT id FROM property_history ORDER BY id").scalars().all()
    assert [i for i in left if i in ids] == [ids[1], ids[3]]


def test_purging_an_object_type_removes_the_history_of_its_records_only(store: SqlStore, portal_id: int) -> None:
    task, contact = _ids(store, portal_id, 2)
    entry = HistoryEntry(1, "API", None, {})
    with store.write(portal_id) as tx:
        h_task, h_contact = tx.allocate(0, 2)[1]
        tx.insert_objects(TASKS, [_record(task)._replace(history_head=h_task)])
        tx.insert_objects("0-1", [_record(contact)._replace(history_head=h_contact)])
        tx.append_history(TASKS, [(h_task, task, None, entry)])
        tx.append_history("0-1", [(h_contact, contact, None, entry)])
    with store.write(portal_id) as tx:
        tx.purge_object_type(TASKS)
    with store.read(portal_id) as tx:
        assert tx.load_history("0-1", [contact]) == {contact: [entry]}
        left = set(tx.conn.exec_driver_sql("SELECT id FROM property_history").scalars())
    assert h_contact in left and h_task not in left


def test_associations_ignore_repeats_and_read_per_direction(store: SqlStore, portal_id: int) -> None:
    task, contact = _ids(store, portal_id, 2)
    forward = AssociationRow(TASKS, task, "0-1", contact, "HUBSPOT_DEFINED", 204)
    backward = AssociationRow("0-1", contact, TASKS, task, "HUBSPOT_DEFINED", 203)
    with store.write(portal_id) as tx:
        tx.insert_objects(TASKS, [_record(task)])
        tx.insert_objects("0-1", [_record(contact)])
        tx.insert_associations([forward, backward], 5)
    with store.write(portal_id) as tx:
        tx.insert_associations([forward], 6)  # the same association again is not an error
    with store.read(portal_id) as tx:
        assert tx.load_associations(TASKS, [task], "0-1") == [forward]
        assert tx.load_associations("0-1", [contact], TASKS) == [backward]
        assert tx.load_associations(TASKS, [task], "0-2") == []
    with store.write(portal_id) as tx:
        tx.archive_objects("0-1", [contact], 7)
    with store.read(portal_id) as tx:  # an archived end hides the association from the other end
        assert tx.load_associations(TASKS, [task], "0-1") == []


def test_listing_pages_in_id_order_and_archiving_frees_unique_values(store: SqlStore, portal_id: int) -> None:
    first, _, third, fourth, fifth, _, _, eighth = _ids(store, portal_id, 8)
    with store.write(portal_id) as tx:
        tx.insert_objects(TASKS, [_record(n) for n in (fifth, third, eighth, first)])
        tx.claim_unique(TASKS, [("ext", "k8", eighth)])
        tx.archive_objects(TASKS, [eighth], 99)
    with store.read(portal_id) as tx:
        assert [r.id for r in tx.list_objects(TASKS, 0, 2, archived=False)] == [first, third]
        assert [r.id for r in tx.list_objects(TASKS, fourth, 10, archived=False)] == [fifth]
        archived = tx.list_objects(TASKS, 0, 10, archived=True)
        assert [(r.id, r.archived, r.archived_at) for r in archived] == [(eighth, True, 99)]
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
