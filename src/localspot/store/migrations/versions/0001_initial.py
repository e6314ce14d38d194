"""Initial schema: portals, tokens, property catalog, records, unique values, history, associations.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JsonDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def _portal_key(*columns: sa.Column) -> list[sa.Column]:
    return [sa.Column("portal_id", sa.BigInteger, primary_key=True, autoincrement=False), *columns]


def upgrade() -> None:
    op.create_table(
        "portals",
        sa.Column("portal_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("next_object_id", sa.BigInteger, nullable=False),
        sa.Column("schema_version", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "access_tokens",
        *_portal_key(
            sa.Column("token", sa.String(200), primary_key=True),
            sa.Column("created_at", sa.BigInteger, nullable=False),
        ),
    )
    op.create_index("ix_access_tokens_token", "access_tokens", ["token"], unique=True)
    for name in ("property_groups", "property_definitions"):
        op.create_table(
            name,
            *_portal_key(
                sa.Column("object_type_id", sa.String(40), primary_key=True),
                sa.Column("name", sa.String(200), primary_key=True),
                sa.Column("definition", JsonDoc, nullable=False),
                sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false()),
            ),
        )
    op.create_table(
        "objects",
        *_portal_key(
            sa.Column("object_type_id", sa.String(40), primary_key=True),
            sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("properties", JsonDoc, nullable=False),
            sa.Column("created_at", sa.BigInteger, nullable=False),
            sa.Column("updated_at", sa.BigInteger, nullable=False),
            sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false()),
            sa.Column("archived_at", sa.BigInteger, nullable=True),
        ),
    )
    op.create_table(
        "unique_values",
        *_portal_key(
            sa.Column("object_type_id", sa.String(40), primary_key=True),
            sa.Column("property_name", sa.String(200), primary_key=True),
            sa.Column("value", sa.String(1000), primary_key=True),
            sa.Column("object_id", sa.BigInteger, nullable=False),
        ),
    )
    op.create_index("ix_unique_values_object", "unique_values", ["portal_id", "object_type_id", "object_id"])
    op.create_table(
        "property_history",
        sa.Column("portal_id", sa.BigInteger, nullable=False),
        sa.Column("object_type_id", sa.String(40), nullable=False),
        sa.Column("object_id", sa.BigInteger, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("source_type", sa.String(40), nullable=False),
        sa.Column("source_id", sa.String(200), nullable=True),
        sa.Column("changes", JsonDoc, nullable=False),
    )
    op.create_index(
        "ix_property_history_object",
        "property_history",
        ["portal_id", "object_type_id", "object_id", "timestamp"],
    )
    op.create_table(
        "associations",
        *_portal_key(
            sa.Column("from_object_type_id", sa.String(40), primary_key=True),
            sa.Column("from_id", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("to_object_type_id", sa.String(40), primary_key=True),
            sa.Column("to_id", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("association_category", sa.String(40), primary_key=True),
            sa.Column("association_type_id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("created_at", sa.BigInteger, nullable=False),
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE IF NOT EXISTS object_id_seq START 1")


def downgrade() -> None:
    for name in (
        "associations",
        "property_history",
        "unique_values",
        "objects",
        "property_definitions",
        "property_groups",
        "access_tokens",
        "portals",
    ):
        op.drop_table(name)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE IF EXISTS object_id_seq")
