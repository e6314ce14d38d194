"""Store operations on associations (one row per direction) and on the portal's association labels."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from localspot.store import tables as t
from localspot.store.base import AssociationLabelRow, AssociationRow

_a = t.associations.c
_l = t.association_labels.c
# The columns of an `AssociationRow`, in its order.
ASSOCIATION_COLUMNS = (
    _a.from_object_type_id,
    _a.from_id,
    _a.to_object_type_id,
    _a.to_id,
    _a.association_category,
    _a.association_type_id,
)
# Associations to archived records disappear (and come back if the record is restored).
_LIVE_TARGET = sa.and_(
    t.objects.c.portal_id == _a.portal_id,
    t.objects.c.object_type_id == _a.to_object_type_id,
    t.objects.c.id == _a.to_id,
    t.objects.c.archived.is_(False),
)


class AssociationOps:
    conn: Connection
    portal_id: int
    is_sqlite: bool

    # --- associations ----------------------------------------------------------------------------

    def insert_associations(self, rows: list[AssociationRow], created_at: int) -> None:
        if not rows:
            return
        params = [{"portal_id": self.portal_id, "created_at": created_at, **r._asdict()} for r in rows]
        dialect = sqlite if self.is_sqlite else postgresql
        self.conn.execute(dialect.insert(t.associations).on_conflict_do_nothing(), params)

    def load_associations(
        self, from_object_type_id: str, from_ids: Iterable[int], to_object_type_id: str
    ) -> list[AssociationRow]:
        query = self._live_from(from_object_type_id, to_object_type_id).where(_a.from_id.in_(list(from_ids)))
        return self._rows(query.order_by(_a.from_id, _a.to_id, _a.association_type_id))

    def load_association_page(
        self, from_object_type_id: str, from_id: int, to_object_type_id: str, start_to_id: int, targets: int
    ) -> list[AssociationRow]:
        """Rows of one record's first `targets` associated records with ids from `start_to_id` on:
        one statement picks the page of target ids, so a record with many associations is not read whole."""
        page = (
            self._live_from(from_object_type_id, to_object_type_id, _a.to_id)
            .where(_a.from_id == from_id, _a.to_id >= start_to_id)
            .distinct()
            .order_by(_a.to_id)
            .limit(targets)
        )
        target_ids = list(self.conn.execute(page).scalars())
        if not target_ids:
            return []
        query = self._live_from(from_object_type_id, to_object_type_id).where(
            _a.from_id == from_id, _a.to_id.in_(target_ids)
        )
        return self._rows(query.order_by(_a.to_id, _a.association_type_id))

    def load_associations_of_types(self, type_ids: Iterable[int]) -> list[AssociationRow]:
        condition = sa.and_(_a.portal_id == self.portal_id, _a.association_type_id.in_(list(type_ids)))
        return self._rows(sa.select(*ASSOCIATION_COLUMNS).where(condition))

    def delete_associations(
        self,
        from_object_type_id: str,
        to_object_type_id: str,
        pairs: Iterable[tuple[int, int]],
        type_ids: Iterable[int] | None = None,
    ) -> None:
        """Remove the associations of (from id, to id) pairs in both directions; all types, or `type_ids`
        (the caller names the types of both directions)."""
        pairs = list(pairs)
        if not pairs:
            return
        forward = self._pair_rows(from_object_type_id, to_object_type_id, sa.tuple_(_a.from_id, _a.to_id), pairs)
        inverse = self._pair_rows(to_object_type_id, from_object_type_id, sa.tuple_(_a.to_id, _a.from_id), pairs)
        condition = sa.and_(_a.portal_id == self.portal_id, sa.or_(forward, inverse))
        if type_ids is not None:
            condition = sa.and_(condition, _a.association_type_id.in_(list(type_ids)))
        self.conn.execute(t.associations.delete().where(condition))

    @staticmethod
    def _pair_rows(from_type: str, to_type: str, key: sa.Tuple, pairs: list[tuple[int, int]]) -> sa.ColumnElement:
        return sa.and_(_a.from_object_type_id == from_type, _a.to_object_type_id == to_type, key.in_(pairs))

    def _live_from(self, from_object_type_id: str, to_object_type_id: str, *columns: sa.Column) -> sa.Select:
        return (
            sa.select(*(columns or ASSOCIATION_COLUMNS))
            .join(t.objects, _LIVE_TARGET)
            .where(
                _a.portal_id == self.portal_id,
                _a.from_object_type_id == from_object_type_id,
                _a.to_object_type_id == to_object_type_id,
            )
        )

    def _rows(self, query: sa.Select) -> list[AssociationRow]:
        return [AssociationRow(*row) for row in self.conn.execute(query)]

    # --- association labels (portal-defined association types) ----------------------------------
    # Ids are allocated and rows inserted and deleted with SchemaOps' association-type methods, which
    # custom object schemas share.

    def load_association_labels(self) -> list[AssociationLabelRow]:
        query = (
            sa.select(
                _l.from_object_type_id,
                _l.to_object_type_id,
                _l.association_type_id,
                _l.association_category,
                _l.name,
                _l.label,
                _l.inverse_type_id,
            )
            .where(_l.portal_id == self.portal_id)
            .order_by(_l.association_type_id, _l.from_object_type_id)
        )
        return [AssociationLabelRow(*row) for row in self.conn.execute(query)]

    def relabel_association_types(self, labels: list[tuple[int, str]]) -> None:
        """Set the label of (association type id, label) pairs, in every direction the id has."""
        if not labels:
            return
        stmt = (
            t.association_labels.update()
            .where(_l.portal_id == self.portal_id, _l.association_type_id == sa.bindparam("b_type"))
            .values(label=sa.bindparam("b_label"))
        )
        self.conn.execute(stmt, [{"b_type": type_id, "b_label": label} for type_id, label in labels])
