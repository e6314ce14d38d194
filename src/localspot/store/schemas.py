"""Store operations on custom object schemas (`2-…` object types) and the association types they define."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from localspot.store import tables as t
from localspot.store.records import purge_history

# Portal-defined association type ids start above every HubSpot-defined one (the highest is 1174), so
# an id names one association type whatever its category.
FIRST_PORTAL_ASSOCIATION_TYPE_ID = 2000


class SchemaOps:
    conn: Connection
    portal_id: int

    # --- schemas ---------------------------------------------------------------------------------

    def load_object_schemas(self, archived: bool | None = False) -> list[dict[str, Any]]:
        """Schema definitions of the portal (`archived=None`: live and archived alike), oldest first."""
        s = t.object_schemas.c
        query = sa.select(s.definition).where(s.portal_id == self.portal_id)
        if archived is not None:
            query = query.where(s.archived == archived)
        return list(self.conn.execute(query.order_by(s.created_at, s.object_type_id)).scalars())

    def insert_object_schema(self, definition: dict[str, Any], created_at: int) -> None:
        self.conn.execute(
            t.object_schemas.insert().values(
                portal_id=self.portal_id,
                object_type_id=definition["objectTypeId"],
                name=definition["name"],
                definition=definition,
                archived=False,
                created_at=created_at,
            )
        )

    def replace_object_schema(self, definition: dict[str, Any]) -> None:
        s = t.object_schemas.c
        stmt = (
            t.object_schemas.update()
            .where(s.portal_id == self.portal_id, s.object_type_id == definition["objectTypeId"])
            .values(definition=definition, archived=bool(definition.get("archived")))
        )
        self.conn.execute(stmt)

    def has_live_objects(self, object_type_id: str) -> bool:
        o = t.objects.c
        query = (
            sa.select(o.id)
            .where(o.portal_id == self.portal_id, o.object_type_id == object_type_id, o.archived.is_(False))
            .limit(1)
        )
        return self.conn.execute(query).first() is not None

    def purge_object_type(self, object_type_id: str) -> None:
        """Hard delete: the type, its definitions, association types, and every record of it (archived ones)."""
        purge_history(self.conn, self.portal_id, object_type_id, None)
        for table, column in (
            (t.object_schemas, "object_type_id"),
            (t.property_definitions, "object_type_id"),
            (t.property_groups, "object_type_id"),
            (t.objects, "object_type_id"),
            (t.unique_values, "object_type_id"),
            (t.merged_objects, "object_type_id"),
        ):
            self.conn.execute(
                table.delete().where(table.c.portal_id == self.portal_id, table.c[column] == object_type_id)
            )
        for table in (t.association_labels, t.associations):
            c = table.c
            self.conn.execute(
                table.delete().where(
                    c.portal_id == self.portal_id,
                    sa.or_(c.from_object_type_id == object_type_id, c.to_object_type_id == object_type_id),
                )
            )

    # --- association types of schemas -------------------------------------------------------------

    def next_association_type_id(self) -> int:
        """The next free portal-defined association type id (callers hold the portal row, so no race)."""
        a = t.association_labels.c
        query = sa.select(sa.func.max(a.association_type_id)).where(a.portal_id == self.portal_id)
        highest = self.conn.execute(query).scalar_one_or_none() or 0
        return max(highest + 1, FIRST_PORTAL_ASSOCIATION_TYPE_ID)

    def insert_association_types(self, rows: list[dict[str, Any]], created_at: int) -> None:
        """Rows of `association_labels`: from/to object type ids, type id, category, name, label, inverse id."""
        if rows:
            params = [{"portal_id": self.portal_id, "created_at": created_at, **r} for r in rows]
            self.conn.execute(t.association_labels.insert(), params)

    def load_schema_association_types(self, object_type_ids: list[str]) -> list[dict[str, Any]]:
        """Unlabelled association types from the given types: the ones schemas define (labels carry a label)."""
        a = t.association_labels.c
        query = (
            sa.select(
                a.from_object_type_id,
                a.to_object_type_id,
                a.association_type_id,
                a.inverse_type_id,
                a.name,
                a.created_at,
            )
            .where(
                a.portal_id == self.portal_id,
                a.from_object_type_id.in_(object_type_ids),
                a.label.is_(None),
            )
            .order_by(a.association_type_id)
        )
        return [dict(row._mapping) for row in self.conn.execute(query)]

    def delete_association_types(self, type_ids: list[int]) -> None:
        """Remove association types (both directions) and every association made with them."""
        for table in (t.association_labels, t.associations):
            c = table.c
            self.conn.execute(table.delete().where(c.portal_id == self.portal_id, c.association_type_id.in_(type_ids)))
