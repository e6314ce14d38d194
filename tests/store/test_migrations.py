"""A database made by the first schema version is migrated at start, with nothing lost.

`tests/fixtures/schema_0001.db` was written by LocalSpot at revision 0001 (see make_schema_0001.py).
On SQLite the file itself is upgraded; on PostgreSQL its rows are loaded into a database migrated to
0001 only, then LocalSpot starts on it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from starlette.testclient import TestClient

from localspot.app import create_app
from localspot.settings import Settings
from localspot.store.engine import create_engine
from localspot.store.migrate import alembic_config, downgrade, upgrade
from localspot.store.records import _objects_by_id
from tests.store.test_lookups import _plan

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "schema_0001.db"
TOKEN, PORTAL = "pat-fixture-0001", 7


def _head() -> str:
    return ScriptDirectory.from_config(alembic_config(None)).get_current_head()


def _copy_rows(source_url: str, target_url: str) -> None:
    """Load the fixture's rows into a database at revision 0001 (tables in dependency-free order)."""
    source, target = create_engine(source_url), create_engine(target_url)
    upgrade(target, "0001")
    meta = sa.MetaData()
    meta.reflect(source)
    with source.connect() as src, target.begin() as dst:
        for table in meta.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = [dict(r._mapping) for r in src.execute(table.select())]
            if rows:
                dst.execute(sa.Table(table.name, sa.MetaData(), autoload_with=dst).insert(), rows)
        if dst.dialect.name == "postgresql":
            dst.exec_driver_sql("SELECT setval('object_id_seq', (SELECT MAX(id) FROM objects))")
    source.dispose()
    target.dispose()


@pytest.fixture
def first_version_database(fresh_database: str, tmp_path: Path) -> str:
    copy = tmp_path / "schema_0001.db"
    shutil.copy(FIXTURE, copy)
    if fresh_database.startswith("sqlite"):
        return f"sqlite:///{copy}"
    _copy_rows(f"sqlite:///{copy}", fresh_database)
    return fresh_database


def test_first_version_database_is_migrated_without_loss(first_version_database: str) -> None:
    app = create_app(Settings(database_url=first_version_database, portal_id=PORTAL, tokens=(TOKEN,)))
    engine = app.state.service.store.engine
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == _head()
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        read = http.post(
            "/crm/v3/objects/tasks/batch/read",
            json={
                "idProperty": "ext_id",
                "inputs": [{"id": f"t{n}"} for n in range(5)],
                "properties": ["hs_task_subject", "hs_timestamp"],
                "propertiesWithHistory": ["hs_task_subject"],
            },
        ).json()
        subjects = {r["properties"]["hs_task_subject"] for r in read["results"]}
        assert subjects == {"task 0, edited", "task 1", "task 2", "task 3", "task 4"}
        edited = next(r for r in read["results"] if r["properties"]["hs_task_subject"] == "task 0, edited")
        assert [v["value"] for v in edited["propertiesWithHistory"]["hs_task_subject"]] == ["task 0, edited", "task 0"]

        # Keys still match (an upsert updates), and new records get fresh ids.
        again = http.post(
            "/crm/v3/objects/tasks/batch/upsert",
            json={
                "inputs": [
                    {"id": "t1", "idProperty": "ext_id", "properties": {"hs_task_subject": "task 1 again"}},
                    {"id": "t9", "idProperty": "ext_id", "properties": {"hs_timestamp": "1700000000000"}},
                ]
            },
        ).json()
        assert [r["new"] for r in again["results"]] == [False, True]
        assert int(again["results"][1]["id"]) > max(int(r["id"]) for r in read["results"])

        contact = http.get("/crm/v3/objects/contacts/ada@example.com?idProperty=email&associations=tasks").json()
        assert contact["properties"]["email"] == "ada@example.com"
        assert contact["associations"]["tasks"]["results"][0]["type"] == "contact_to_task"
    app.state.service.store.dispose()


def test_migrations_build_exactly_the_tables_the_code_uses(fresh_database: str) -> None:
    """Alembic's autogenerate finds nothing to add: tables.py and the migrations agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from localspot.store.tables import metadata

    engine = create_engine(fresh_database)
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
        if conn.dialect.name == "sqlite":  # which autogenerate does not compare (revision 0003)
            inspector = sa.inspect(conn)
            built = {
                t.name: inspector.get_table_options(t.name).get("sqlite_with_rowid", True)
                for t in metadata.sorted_tables
            }
            declared = {t.name: t.dialect_options["sqlite"]["with_rowid"] for t in metadata.sorted_tables}
            assert built == declared
            diff = [d for d in diff if not _keyed_by_id(d)]
    engine.dispose()
    assert diff == []


def _keyed_by_id(difference: object) -> bool:
    """What revision 0004 does to SQLite's objects on purpose, which tables.py (both backends') does not
    declare: `id INTEGER PRIMARY KEY` and the key as a unique index (tested below)."""
    if isinstance(difference, list):  # column changes come as a list of ("modify_...", schema, table, column, ...)
        return all(change[2:4] == ("objects", "id") for change in difference)
    return difference[0] == "remove_index" and difference[1].name == "ix_objects_key"


def test_sqlite_unique_values_are_clustered_on_their_key_and_back(tmp_path: Path) -> None:
    """Revision 0003 rebuilds SQLite's unique_values WITHOUT ROWID, rows and index kept; its downgrade
    rebuilds the rowid table."""
    url = f"sqlite:///{tmp_path / 'clustered.db'}"
    engine = create_engine(url)
    upgrade(engine, "0002")
    rows = [(1, "0-27", "ext_id", f"key-{n}", 100 + n) for n in range(50)]
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO unique_values VALUES (?, ?, ?, ?, ?)", rows)

    def table_sql() -> str:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'unique_values'").scalar_one()

    def stored() -> list[tuple]:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM unique_values ORDER BY value")]

    def index_names() -> set[str]:
        with engine.connect() as conn:
            return {r[1] for r in conn.exec_driver_sql("PRAGMA index_list('unique_values')")}

    assert "WITHOUT ROWID" not in table_sql()
    upgrade(engine)
    assert "WITHOUT ROWID" in table_sql()
    assert stored() == sorted(rows, key=lambda r: r[3]) and "ix_unique_values_object" in index_names()
    downgrade(engine, "0002")  # in one transaction, as upgrade runs
    assert "WITHOUT ROWID" not in table_sql()
    assert stored() == sorted(rows, key=lambda r: r[3]) and "ix_unique_values_object" in index_names()
    engine.dispose()


def _objects_sql(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'objects'").scalar_one()


def _stored_objects(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM objects ORDER BY portal_id, id")]


def _insert_objects(engine: sa.Engine, rows: list[tuple]) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO objects VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def test_sqlite_objects_are_keyed_by_their_id_and_back(tmp_path: Path) -> None:
    """Revision 0004 rebuilds SQLite's objects with the id as the rowid, rows kept and the key a unique
    index; its downgrade rebuilds the composite key."""
    engine = create_engine(f"sqlite:///{tmp_path / 'keyed.db'}")
    upgrade(engine, "0003")
    rows = [(1, "0-27" if n % 2 else "0-1", n, f'{{"n": "{n}"}}', n, n, n % 3 == 0, None) for n in range(1, 40)]
    _insert_objects(engine, rows)
    assert "PRIMARY KEY (portal_id, object_type_id, id)" in _objects_sql(engine)
    upgrade(engine, "0004")
    assert "id INTEGER PRIMARY KEY" in _objects_sql(engine)
    assert _stored_objects(engine) == rows
    with engine.connect() as conn:  # the id is the rowid, so unique; the key is a unique index of its own
        assert conn.exec_driver_sql("SELECT rowid FROM objects WHERE id = 17").scalar_one() == 17
        with pytest.raises(sa.exc.IntegrityError):
            conn.exec_driver_sql("INSERT INTO objects VALUES (2, '0-27', 17, '{}', 1, 1, 0, NULL)")
    assert _key_index(engine) == (True, ["portal_id", "object_type_id", "id"])
    downgrade(engine, "0003")  # in one transaction, as upgrade runs
    assert "PRIMARY KEY (portal_id, object_type_id, id)" in _objects_sql(engine)
    assert _stored_objects(engine) == rows
    assert _key_index(engine) is None
    engine.dispose()


def _key_index(engine: sa.Engine) -> tuple[bool, list[str]] | None:
    """(unique, columns) of objects' ix_objects_key, or None without one."""
    with engine.connect() as conn:
        indexes = {r[1]: bool(r[2]) for r in conn.exec_driver_sql("PRAGMA index_list('objects')")}
        if "ix_objects_key" not in indexes:
            return None
        columns = [r[2] for r in conn.exec_driver_sql("PRAGMA index_info('ix_objects_key')")]
    return indexes["ix_objects_key"], columns


def test_sqlite_objects_whose_ids_repeat_across_portals_keep_the_composite_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Before revision 0004 SQLite numbered each portal's records from 1: such a database cannot key its
    rows by id alone. It keeps the composite key, says so, and works on; new ids are unique across portals."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    engine = create_engine(url)
    upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO portals (portal_id, next_object_id, schema_version, created_at)"
            " VALUES (1, 3, 0, 0), (2, 9, 0, 0)"
        )
    rows = [(portal, "0-27", n, "{}", 1, 1, False, None) for portal in (1, 2) for n in (1, 2)]
    _insert_objects(engine, rows)
    upgrade(engine)
    assert "PRIMARY KEY (portal_id, object_type_id, id)" in _objects_sql(engine)
    # Revision 0005 added each record's history head: these records have no history.
    assert _stored_objects(engine) == [(*row, None) for row in rows] and _key_index(engine) is None
    assert "objects keeps its composite key" in caplog.text
    engine.dispose()
    from localspot.store.base import StoredObject
    from localspot.store.sql import SqlStore

    store = SqlStore(url)
    with store.write(1) as tx:
        new_ids = tx.allocate_ids(2)
        assert new_ids == [9, 10]  # past portal 2's counter, not portal 1's own
        tx.insert_objects("0-27", [StoredObject(n, {"n": str(n)}, 5, 5) for n in new_ids])
        tx.update_objects("0-27", [StoredObject(1, {"n": "one"}, 1, 6)])
    with store.read(1) as tx:  # portal 1 sees its own records only, the older ids included
        assert [r.id for r in tx.list_objects("0-27", 0, 10, archived=False)] == [1, 2, 9, 10]
        assert tx.load_objects("0-27", [1])[1].properties == {"n": "one"}
    with store.read(2) as tx:
        assert tx.load_objects("0-27", [1])[1].properties == {}
    # Records by id are looked up through the composite key, one id at a time: never a scan of the table.
    plan = _plan(store, _objects_by_id(True, True), {"portal": 1, "type": "0-27", "ids": [1, 2], "archived": False})
    assert plan[1].startswith("SEARCH objects USING INDEX sqlite_autoindex_objects_1 (portal_id=? AND"), plan
    assert not [p for p in plan if p.startswith("SCAN objects")]
    store.dispose()


def test_history_becomes_a_chain_per_record_and_back(fresh_database: str) -> None:
    """Revision 0005 links each record's history rows in timestamp order (row order breaking ties), points
    the record at its newest and drops the index; reads list the same history. Its downgrade restores the
    index and the columns as they were."""
    from localspot.store.sql import SqlStore

    engine = create_engine(fresh_database)
    upgrade(engine, "0004")
    history = [(1, 30, "c"), (2, 5, "x"), (1, 10, "a"), (1, 20, "b"), (1, 20, "b2")]  # (record, timestamp, value)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO objects (portal_id, object_type_id, id, properties, created_at, updated_at, archived)"
                " VALUES (7, '0-27', :id, '{}', 1, 1, false)"
            ),
            [{"id": n} for n in (1, 2, 3)],
        )
        conn.execute(
            sa.text(
                "INSERT INTO property_history (portal_id, object_type_id, object_id, timestamp, source_type, changes)"
                " VALUES (7, '0-27', :record, :at, 'API', :changes)"
            ),
            [{"record": r, "at": at, "changes": f'{{"v": "{v}"}}'} for r, at, v in history],
        )
    upgrade(engine)
    assert "ix_property_history_object" not in {i["name"] for i in sa.inspect(engine).get_indexes("property_history")}
    store = SqlStore(fresh_database)
    with store.read(7) as tx:
        chains = tx.load_history("0-27", [1, 2, 3])
        heads = {r.id: r.history_head for r in tx.load_objects("0-27", [1, 2, 3]).values()}
    assert {r: [e.changes["v"] for e in entries] for r, entries in chains.items()} == {
        1: ["c", "b2", "b", "a"],
        2: ["x"],
    }
    assert heads[3] is None and heads[1] < heads[2]  # record 1: its newest row came first (the smallest id)
    with store.write(7) as tx:  # a new row goes past every migrated one
        [new_id] = tx.allocate(0, 1)[1]
        assert new_id > max(heads[1], heads[2])
    store.dispose()
    downgrade(engine, "0004")  # in one transaction, as upgrade runs
    inspector = sa.inspect(engine)
    assert "history_head" not in {c["name"] for c in inspector.get_columns("objects")}
    assert {c["name"] for c in inspector.get_columns("property_history")} == {
        "portal_id",
        "object_type_id",
        "object_id",
        "timestamp",
        "source_type",
        "source_id",
        "changes",
    }
    assert "ix_property_history_object" in {i["name"] for i in inspector.get_indexes("property_history")}
    with engine.connect() as conn:
        kept = conn.exec_driver_sql("SELECT object_id, timestamp FROM property_history ORDER BY object_id, timestamp")
        assert [tuple(r) for r in kept] == sorted((r, at) for r, at, _ in history)
    upgrade(engine)  # and up again
    engine.dispose()
