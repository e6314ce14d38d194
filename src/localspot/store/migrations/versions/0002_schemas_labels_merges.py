"""Custom object schemas, portal-defined association labels, merged record ids.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JsonDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def _portal_key(*columns: sa.Column) -> list[sa.Column]:
    return [sa.Column("portal_id", sa.BigInteger, primary_key=True, autoincrement=False), *columns]


def upgrade() -> None:
    op.create_table(
        "object_schemas",
        *_portal_key(
            sa.Column("object_type_id", sa.String(40), primary_key=True),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("definition", JsonDoc, nullable=False),
            sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false()),
            sa.Column("created_at", sa.BigInteger, nullable=False),
        ),
    )
    op.create_index("ix_object_schemas_name", "object_schemas", ["portal_id", "name"], unique=True)
    op.create_table(
        "association_labels",
        *_portal_key(
            sa.Column("from_object_type_id", sa.String(40), primary_key=True),
            sa.Column("to_object_type_id", sa.String(40), primary_key=True),
            sa.Column("association_type_id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("association_category", sa.String(40), nullable=False),
            sa.Column("name", sa.String(200), nullable=True),
            sa.Column("label", sa.String(200), nullable=True),
            sa.Column("inverse_type_id", sa.Integer, nullable=True),
            sa.Column("created_at", sa.BigInteger, nullable=False),
        ),
    )
    op.create_table(
        "merged_objects",
        *_portal_key(
            sa.Column("object_type_id", sa.String(40), primary_key=True),
            sa.Column("merged_id", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("surviving_id", sa.BigInteger, nullable=False),
        ),
    )


def downgrade() -> None:
    op.drop_table("merged_objects")
    op.drop_table("association_labels")
    op.drop_index("ix_object_schemas_name", table_name="object_schemas")
    op.drop_table("object_schemas")
