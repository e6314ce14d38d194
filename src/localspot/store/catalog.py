"""Store operations on a portal's catalog: the portal row, access tokens, property definitions, groups."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from localspot.store import tables as t
from localspot.store.driver import Lookup

_SCHEMA_VERSION = Lookup(
    lambda _is_sqlite: sa.select(t.portals.c.schema_version).where(t.portals.c.portal_id == sa.bindparam("portal"))
)


class CatalogOps:
    conn: Connection
    portal_id: int

    # --- portal and tokens -----------------------------------------------------------------------

    def portal_exists(self) -> bool:
        query = sa.select(t.portals.c.portal_id).where(t.portals.c.portal_id == self.portal_id)
        return self.conn.execute(query).first() is not None

    def create_portal(self, created_at: int) -> None:
        self.conn.execute(
            t.portals.insert().values(
                portal_id=self.portal_id, next_object_id=1, schema_version=0, created_at=created_at
            )
        )

    def schema_version(self) -> int:
        """Read on every request (see CrmService._catalog), so its statement is built once."""
        [(version,)] = _SCHEMA_VERSION.rows(self.conn, {"portal": self.portal_id})
        return version

    def bump_schema_version(self) -> None:
        p = t.portals.c
        stmt = t.portals.update().where(p.portal_id == self.portal_id).values(schema_version=p.schema_version + 1)
        self.conn.execute(stmt)

    def tokens(self) -> list[str]:
        c = t.access_tokens.c
        query = sa.select(c.token).where(c.portal_id == self.portal_id).order_by(c.created_at)
        return list(self.conn.execute(query).scalars())

    def add_token(self, token: str, created_at: int) -> None:
        self.conn.execute(t.access_tokens.insert().values(portal_id=self.portal_id, token=token, created_at=created_at))

    # --- property definitions and groups ---------------------------------------------------------

    def load_property_definitions(self, archived: bool = False) -> list[tuple[str, dict[str, Any]]]:
        """(object type id, definition) pairs of the portal, in insertion-independent order."""
        d = t.property_definitions.c
        query = (
            sa.select(d.object_type_id, d.definition)
            .where(d.portal_id == self.portal_id, d.archived == archived)
            .order_by(d.object_type_id, d.name)
        )
        return [(row.object_type_id, row.definition) for row in self.conn.execute(query)]

    def insert_property_definitions(self, rows: list[tuple[str, dict[str, Any]]]) -> None:
        if rows:
            params = [
                {"portal_id": self.portal_id, "object_type_id": tid, "name": d["name"], "definition": d}
                for tid, d in rows
            ]
            self.conn.execute(t.property_definitions.insert(), params)

    def property_definition_row(self, object_type_id: str, name: str) -> tuple[dict[str, Any], bool] | None:
        """A definition and whether it is archived, or None if the name was never used."""
        d = t.property_definitions.c
        query = sa.select(d.definition, d.archived).where(
            d.portal_id == self.portal_id, d.object_type_id == object_type_id, d.name == name
        )
        row = self.conn.execute(query).first()
        return (row.definition, row.archived) if row else None

    def replace_property_definition(
        self, object_type_id: str, definition: dict[str, Any], archived: bool = False
    ) -> None:
        d = t.property_definitions.c
        stmt = (
            t.property_definitions.update()
            .where(
                d.portal_id == self.portal_id,
                d.object_type_id == object_type_id,
                d.name == definition["name"],
            )
            .values(definition=definition, archived=archived)
        )
        self.conn.execute(stmt)

    def load_groups(self, object_type_id: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        g = t.property_groups.c
        query = sa.select(g.object_type_id, g.definition).where(g.portal_id == self.portal_id, g.archived.is_(False))
        if object_type_id is not None:
            query = query.where(g.object_type_id == object_type_id)
        return [(row.object_type_id, row.definition) for row in self.conn.execute(query.order_by(g.name))]

    def insert_groups(self, rows: list[tuple[str, dict[str, Any]]]) -> None:
        if rows:
            params = [
                {"portal_id": self.portal_id, "object_type_id": tid, "name": d["name"], "definition": d}
                for tid, d in rows
            ]
            self.conn.execute(t.property_groups.insert(), params)

    def group_exists(self, object_type_id: str, name: str) -> bool:
        g = t.property_groups.c
        query = sa.select(g.name).where(
            g.portal_id == self.portal_id, g.object_type_id == object_type_id, g.name == name
        )
        return self.conn.execute(query).first() is not None
