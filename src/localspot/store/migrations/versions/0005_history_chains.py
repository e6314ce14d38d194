"""Property history as a chain per record, without its index.

Every write of a record appends a history row. The index that found a record's rows
(`ix_property_history_object`: portal, type, record id, timestamp) took an entry for each at the
record's place, a random page of the index: 55 of the 150 pages a batch of 100 upserts wrote to the WAL
(docs/benchmarks.md, ninth round). Now each history row names the record's previous one (`previous_id`)
and the record names its newest (`objects.history_head`): a write appends its row, and the record's own
row, which the write rewrites anyway, points at it. A record's history is read by following its chain.

Existing rows are linked in the order the index listed them (timestamp, then row id). On SQLite the
table is rebuilt with `id INTEGER PRIMARY KEY` (its rowid, kept): the first start needs free disk of
about three times the table's size (a million rows: 15 s, the file 775 → 1,103 MB), and the file keeps
the old table's pages for later writes. On PostgreSQL one pass numbers and links the rows in place; the
key is (portal, id), as every key there starts with the portal (docs/scale-out.md), and new ids come
from a sequence, `property_history_id_seq`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INDEX = "ix_property_history_object"
# Exactly INTEGER: SQLite makes only that an alias of the rowid (NOT NULL as tables.py declares the key).
KEYED_BY_ID = "id INTEGER PRIMARY KEY NOT NULL,\n    "
INDEXED = "portal_id, object_type_id, object_id, timestamp"
COLUMNS = "portal_id, object_type_id, object_id, timestamp, source_type, source_id, changes"
_REBUILT = """CREATE TABLE property_history_rebuilt (
    {id}portal_id BIGINT NOT NULL,
    object_type_id VARCHAR(40) NOT NULL,
    object_id BIGINT NOT NULL,
    timestamp BIGINT NOT NULL,
    source_type VARCHAR(40) NOT NULL,
    source_id VARCHAR(200),
    changes JSON NOT NULL{previous}
)"""
# A record's rows in the order its chain takes: the newest last.
_RECORD = "PARTITION BY portal_id, object_type_id, object_id ORDER BY timestamp, {id}"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _upgrade_sqlite()
    else:
        _upgrade_postgresql()


def _upgrade_sqlite() -> None:
    op.execute(_REBUILT.format(id=KEYED_BY_ID, previous=",\n    previous_id BIGINT"))
    record = _RECORD.format(id="rowid")
    op.execute(
        f"INSERT INTO property_history_rebuilt (id, {COLUMNS}, previous_id) "
        f"SELECT rowid, {COLUMNS}, lag(rowid) OVER ({record}) FROM property_history ORDER BY rowid"
    )
    op.execute("ALTER TABLE objects ADD COLUMN history_head BIGINT")
    # Found through the old table's index, which still exists here; the rebuilt rows kept their rowids.
    op.execute(
        "UPDATE objects SET history_head = (SELECT h.rowid FROM property_history h "
        "WHERE h.portal_id = objects.portal_id AND h.object_type_id = objects.object_type_id "
        "AND h.object_id = objects.id ORDER BY h.timestamp DESC, h.rowid DESC LIMIT 1)"
    )
    op.execute("DROP TABLE property_history")
    op.execute("ALTER TABLE property_history_rebuilt RENAME TO property_history")


def _upgrade_postgresql() -> None:
    # Numbers and links in one pass over the table (one rewrite): ids in the rows' physical order, which
    # breaks timestamp ties as SQLite's rowids do; the key comes after, so the pass updates no index of it.
    op.execute("ALTER TABLE property_history ADD COLUMN id BIGINT, ADD COLUMN previous_id BIGINT")
    op.execute(
        "UPDATE property_history h SET id = linked.id, previous_id = linked.previous_id FROM "
        f"(SELECT row, id, lag(id) OVER ({_RECORD.format(id='id')}) AS previous_id FROM "
        "(SELECT ctid AS row, portal_id, object_type_id, object_id, timestamp, row_number() OVER (ORDER BY ctid) AS id "
        "FROM property_history) numbered) linked WHERE h.ctid = linked.row"
    )
    op.execute("CREATE SEQUENCE property_history_id_seq START 1")
    op.execute("SELECT setval('property_history_id_seq', coalesce(max(id), 0) + 1, false) FROM property_history")
    op.execute("ALTER TABLE property_history ALTER COLUMN id SET NOT NULL")
    op.execute("ALTER TABLE property_history ADD PRIMARY KEY (portal_id, id)")  # portal first, as every key
    op.execute("ALTER TABLE objects ADD COLUMN history_head BIGINT")
    op.execute(
        "UPDATE objects o SET history_head = newest.id FROM "
        "(SELECT DISTINCT ON (portal_id, object_type_id, object_id) portal_id, object_type_id, object_id, id "
        "FROM property_history ORDER BY portal_id, object_type_id, object_id, timestamp DESC, id DESC) newest "
        "WHERE o.portal_id = newest.portal_id AND o.object_type_id = newest.object_type_id AND o.id = newest.object_id"
    )
    op.execute(f"DROP INDEX {INDEX}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(_REBUILT.format(id="", previous=""))
        op.execute(
            f"INSERT INTO property_history_rebuilt ({COLUMNS}) SELECT {COLUMNS} FROM property_history ORDER BY id"
        )
        op.execute("DROP TABLE property_history")
        op.execute("ALTER TABLE property_history_rebuilt RENAME TO property_history")
    else:
        op.execute("ALTER TABLE property_history DROP COLUMN previous_id")
        op.execute("ALTER TABLE property_history DROP COLUMN id")
        op.execute("DROP SEQUENCE property_history_id_seq")
    op.execute("ALTER TABLE objects DROP COLUMN history_head")
    op.execute(f"CREATE INDEX {INDEX} ON property_history ({INDEXED})")
