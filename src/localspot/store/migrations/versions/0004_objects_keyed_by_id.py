"""SQLite: records keyed by their id (`id INTEGER PRIMARY KEY`, the table's rowid).

With the key (portal_id, object_type_id, id), SQLite kept the rows in a rowid table and the key in an
index of its own, so a record found by a unique value took two descents after the unique value's own:
the key's index, then the table. A record's id now is the rowid, and such a lookup (batch upsert, batch
read by idProperty) reaches the row in one, as does a lookup by a list of ids (store.records `_of_ids`).
The key stays as a unique index (`ix_objects_key`), which lists and searches by type walk as before.
At a million records, two workers' batch upserts ran 10-12% faster (docs/benchmarks.md, eighth round).

This needs ids unique across portals: SQLite now allocates them past the highest counter of all portals
(store.records), as PostgreSQL does from one sequence. A database whose portals already numbered records
alike (the same id in two portals or types) keeps the composite key, with a warning: its rows could not
share one rowid. Statements therefore keep naming portal, type and id, which both layouts answer alike.
The rebuild copies the table once inside the migration's transaction: the first start needs free disk
of about twice the table, and the file keeps the old table's pages for later writes. PostgreSQL keeps
its table as it is.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

import logging

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = "portal_id, object_type_id, id, properties, created_at, updated_at, archived, archived_at"
KEYED_BY_ID = "id INTEGER PRIMARY KEY"  # exactly INTEGER: SQLite makes only that an alias of the rowid
KEYED_BY_PORTAL = "id BIGINT NOT NULL"
_TABLE = """CREATE TABLE objects_rebuilt (
    portal_id BIGINT NOT NULL,
    object_type_id VARCHAR(40) NOT NULL,
    {id},
    properties JSON NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    archived BOOLEAN DEFAULT 0 NOT NULL,
    archived_at BIGINT{key}
)"""
INDEX = "ix_objects_key"


def _ids_shared() -> bool:
    """Whether some id names records in two portals or types (allowed before this revision)."""
    shared = op.get_bind().exec_driver_sql("SELECT 1 FROM objects GROUP BY id HAVING count(*) > 1 LIMIT 1")
    return shared.first() is not None


def _rebuild(by_id: bool) -> None:
    """Copy objects into a table keyed by id (or by portal, type and id), then put it in its place."""
    if by_id:
        op.execute(_TABLE.format(id=KEYED_BY_ID, key=""))
    else:
        op.execute(_TABLE.format(id=KEYED_BY_PORTAL, key=",\n    PRIMARY KEY (portal_id, object_type_id, id)"))
    # In id order: each row lands at the end of the table.
    op.execute(f"INSERT INTO objects_rebuilt ({COLUMNS}) SELECT {COLUMNS} FROM objects ORDER BY id")
    if not by_id:
        op.execute(f"DROP INDEX {INDEX}")
    op.drop_table("objects")
    op.rename_table("objects_rebuilt", "objects")
    if by_id:
        op.execute(f"CREATE UNIQUE INDEX {INDEX} ON objects (portal_id, object_type_id, id)")


def _keyed_by_id() -> bool:
    return op.get_bind().exec_driver_sql(f"SELECT 1 FROM sqlite_master WHERE name = '{INDEX}'").first() is not None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    if _ids_shared():
        logging.getLogger("localspot").warning(
            "records of different portals or types share ids: objects keeps its composite key (schema revision"
            " 0004), and lookups by unique value take one more index search than in a database keyed by id"
        )
        return
    _rebuild(by_id=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite" or not _keyed_by_id():
        return
    _rebuild(by_id=False)
