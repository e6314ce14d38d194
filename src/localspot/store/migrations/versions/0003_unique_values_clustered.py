"""SQLite: unique values clustered on their key (a WITHOUT ROWID table).

A lookup by unique value (matching upsert keys, batch read by idProperty) searched the key's index,
then read the table row behind it for the record id: two B-trees, and at a million records two pages
read cold for every key. Clustered on the primary key, the record id sits in the key's own leaf; a new
key is written into two B-trees instead of three. PostgreSQL keeps its table as it is.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = "portal_id, object_type_id, property_name, value, object_id"
KEY = "portal_id, object_type_id, property_name, value"


def _rebuild(with_rowid: bool) -> None:
    """Copy unique_values into a new table of the given kind, then put it in its place."""
    if op.get_bind().dialect.name != "sqlite":
        return
    op.create_table(
        "unique_values_rebuilt",
        sa.Column("portal_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("object_type_id", sa.String(40), primary_key=True),
        sa.Column("property_name", sa.String(200), primary_key=True),
        sa.Column("value", sa.String(1000), primary_key=True),
        sa.Column("object_id", sa.BigInteger, nullable=False),
        sqlite_with_rowid=with_rowid,
    )
    # In key order: each row then lands at the end of the clustered table (random emails: 3.75 → 2.2 s per 1M).
    op.execute(f"INSERT INTO unique_values_rebuilt ({COLUMNS}) SELECT {COLUMNS} FROM unique_values ORDER BY {KEY}")
    op.drop_index("ix_unique_values_object", table_name="unique_values")
    op.drop_table("unique_values")
    op.rename_table("unique_values_rebuilt", "unique_values")
    op.create_index("ix_unique_values_object", "unique_values", ["portal_id", "object_type_id", "object_id"])


def upgrade() -> None:
    _rebuild(with_rowid=False)


def downgrade() -> None:
    _rebuild(with_rowid=True)
