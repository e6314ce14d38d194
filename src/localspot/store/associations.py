"""Store operations on associations, kept one row per direction."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from localspot.store import tables as t
from localspot.store.base import AssociationRow


class AssociationOps:
    conn: Connection
    portal_id: int
    is_sqlite: bool

    def insert_associations(self, rows: list[AssociationRow], created_at: int) -> None:
        if not rows:
            return
        params = [{"portal_id": self.portal_id, "created_at": created_at, **r._asdict()} for r in rows]
        dialect = sqlite if self.is_sqlite else postgresql
        self.conn.execute(dialect.insert(t.associations).on_conflict_do_nothing(), params)

    def load_associations(
        self, from_object_type_id: str, from_ids: Iterable[int], to_object_type_id: str
    ) -> list[AssociationRow]:
        a = t.associations.c
        query = (
            sa.select(
                a.from_object_type_id,
                a.from_id,
                a.to_object_type_id,
                a.to_id,
                a.association_category,
                a.association_type_id,
            )
            # Associations to archived records disappear (and come back if the record is restored).
            .join(
                t.objects,
                sa.and_(
                    t.objects.c.portal_id == a.portal_id,
                    t.objects.c.object_type_id == a.to_object_type_id,
                    t.objects.c.id == a.to_id,
                    t.objects.c.archived.is_(False),
                ),
            )
            .where(
                a.portal_id == self.portal_id,
                a.from_object_type_id == from_object_type_id,
                a.from_id.in_(list(from_ids)),
                a.to_object_type_id == to_object_type_id,
            )
            .order_by(a.from_id, a.to_id, a.association_type_id)
        )
        return [AssociationRow(*row) for row in self.conn.execute(query)]
