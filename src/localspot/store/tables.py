"""SQLAlchemy Core tables, the same on SQLite and PostgreSQL.

Every key starts with `portal_id`, so a distributed PostgreSQL can shard by portal and portals never
see each other's rows (on SQLite, objects is keyed by its id alone since revision 0004: see below).
Properties are JSON (JSONB on PostgreSQL): custom properties never need DDL.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

JsonDoc = sa.JSON().with_variant(JSONB(), "postgresql")
Millis = sa.BigInteger

portals = sa.Table(
    "portals",
    metadata,
    sa.Column("portal_id", sa.BigInteger, primary_key=True, autoincrement=False),
    # Record ids are unique across portals; SQLite allocates them from these counters (store.records),
    # PostgreSQL from a sequence.
    sa.Column("next_object_id", sa.BigInteger, nullable=False),
    # Bumped whenever property definitions or object types change, so other workers drop their caches.
    sa.Column("schema_version", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_at", Millis, nullable=False),
)

access_tokens = sa.Table(
    "access_tokens",
    metadata,
    sa.Column("portal_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("token", sa.String(200), primary_key=True),
    sa.Column("created_at", Millis, nullable=False),
    sa.Index("ix_access_tokens_token", "token", unique=True),
)

property_groups = sa.Table(
    "property_groups",
    metadata,
    sa.Column("portal_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("object_type_id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("definition", JsonDoc, nullable=False),
    sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false()),
)

property_definitions = sa.Table(
    "property_definitions",
    metadata,
    sa.Column("portal_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("object_type_id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("definition", JsonDoc, nullable=False),
    sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false()),
)

# The key every statement names, and must keep naming: on SQLite (revision 0004) the table is keyed by `id`
# alone, its rowid, with this key as a unique index (ix_objects_key), unless the database's portals already
# shared ids, where it stays the primary key. A record held by a unique value is read by rowid.
objects = sa.Table(
    "objects",
    metadata,
    sa.Column("portal_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("object_type_id", sa.String(40), primary_key=True),
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("properties", JsonDoc, nullable=False),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("updated_at", Millis, nullable=False),
    sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("archived_at", Millis, nullable=True),
    # The newest of the record's history rows (revision 0005): each names the one before it.
    sa.Column("history_head", sa.BigInteger, nullable=True),
)

# The database, not Python, guarantees one record per unique value: two racing upserts of one key
# collide on this primary key and the loser retries as an update.
unique_values = sa.Table(
    "unique_values",
    metadata,
    sa.Column("portal_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("object_type_id", sa.String(40), primary_key=True),
    sa.Column("property_name", sa.String(200), primary_key=True),
    sa.Column("value", sa.String(1000), primary_key=True),
    sa.Column("object_id", sa.BigInteger, nullable=False),
    sa.Index("ix_unique_values_object", "portal_id", "object_type_id", "object_id"),
    # Revision 0003: on SQLite, clustered on the key, so a lookup finds the record id in the key's leaf.
    sqlite_with_rowid=False,
)

# Append-only: one row per write of a record, holding the values that write set. A record's rows form a
# chain (revision 0005): `objects.history_head` names the newest, each row the one before it
# (`previous_id`), so that a write appends its row without inserting into an index at the record's place.
property_history = sa.Table(
    "property_history",
    metadata,
    sa.Column("portal_id", sa.BigInteger, primary_key=True, autoincrement=False),
    # On SQLite the key is this id alone, `INTEGER PRIMARY KEY` (the rowid): rows are appended in id order.
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=False),
    sa.Column("object_type_id", sa.String(40), nullable=False),
    sa.Column("object_id", sa.BigInteger, nullable=False),
    sa.Column("timestamp", Millis, nullable=False),
    sa.Column("source_type", sa.String(40), nullable=False),
    sa.Column("source_id", sa.String(200), nullable=True),
    sa.Column("changes", JsonDoc, nullable=False),
    sa.Column("previous_id", sa.BigInteger, nullable=True),
)

# One row per direction, so a record's associations are one index range from either end.
associations = sa.Table(
    "associations",
    metadata,
    sa.Column("portal_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("from_object_type_id", sa.String(40), primary_key=True),
    sa.Column("from_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("to_object_type_id", sa.String(40), primary_key=True),
    sa.Column("to_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("association_category", sa.String(40), primary_key=True),
    sa.Column("association_type_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("created_at", Millis, nullable=False),
)

object_id_sequence = sa.Sequence("object_id_seq", start=1, metadata=metadata)
# PostgreSQL's history row ids (SQLite's follow the table's highest: store.records).
history_id_sequence = sa.Sequence("property_history_id_seq", start=1, metadata=metadata)

# --- revision 0002 -------------------------------------------------------------------------------

# Custom object types (`2-…` objectTypeIds) with their schema in HubSpot's `ObjectSchema` form.
object_schemas = sa.Table(
    "object_schemas",
    metadata,
    sa.Column("portal_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("object_type_id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("definition", JsonDoc, nullable=False),
    sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", Millis, nullable=False),
    sa.Index("ix_object_schemas_name", "portal_id", "name", unique=True),
)

# Association types a portal defined (USER_DEFINED labels, and the types of custom objects' schema
# associations); HubSpot-defined ones come from data/association_types.json.
association_labels = sa.Table(
    "association_labels",
    metadata,
    sa.Column("portal_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("from_object_type_id", sa.String(40), primary_key=True),
    sa.Column("to_object_type_id", sa.String(40), primary_key=True),
    sa.Column("association_type_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("association_category", sa.String(40), nullable=False),
    sa.Column("name", sa.String(200), nullable=True),
    sa.Column("label", sa.String(200), nullable=True),
    sa.Column("inverse_type_id", sa.Integer, nullable=True),
    sa.Column("created_at", Millis, nullable=False),
)

# A merged-away record id keeps resolving to the record it was merged into.
merged_objects = sa.Table(
    "merged_objects",
    metadata,
    sa.Column("portal_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("object_type_id", sa.String(40), primary_key=True),
    sa.Column("merged_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("surviving_id", sa.BigInteger, nullable=False),
)
