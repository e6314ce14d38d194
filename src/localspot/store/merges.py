"""Store operations for merges (which id a merged-away record now answers to, moving its associations)
and GDPR deletes (removing every row of a record for good)."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from localspot.store import tables as t
from localspot.store.associations import ASSOCIATION_COLUMNS
from localspot.store.base import AssociationRow
from localspot.store.records import purge_history

_a = t.associations.c
_m = t.merged_objects.c


class MergeOps:
    conn: Connection
    portal_id: int
    is_sqlite: bool

    def find_merged(self, object_type_id: str, ids: Iterable[int]) -> dict[int, int]:
        """Merged-away record id -> the id of the record it lives on in (for the ids that were merged)."""
        ids = sorted(ids)
        if not ids:
            return {}
        query = sa.select(_m.merged_id, _m.surviving_id).where(
            _m.portal_id == self.portal_id, _m.object_type_id == object_type_id, _m.merged_id.in_(ids)
        )
        return {row.merged_id: row.surviving_id for row in self.conn.execute(query)}

    def merged_into(self, object_type_id: str, surviving_id: int) -> list[int]:
        """The ids merged into a record (they resolve to it)."""
        query = sa.select(_m.merged_id).where(
            _m.portal_id == self.portal_id, _m.object_type_id == object_type_id, _m.surviving_id == surviving_id
        )
        return sorted(self.conn.execute(query).scalars())

    def record_merge(self, object_type_id: str, merged_id: int, surviving_id: int) -> None:
        """Point `merged_id`, and every id merged into it before, at the surviving record."""
        mine = sa.and_(_m.portal_id == self.portal_id, _m.object_type_id == object_type_id)
        self.conn.execute(
            t.merged_objects.update().where(mine, _m.surviving_id == merged_id).values(surviving_id=surviving_id)
        )
        row = {"portal_id": self.portal_id, "object_type_id": object_type_id}
        self.conn.execute(t.merged_objects.insert(), [{**row, "merged_id": merged_id, "surviving_id": surviving_id}])

    def take_associations(self, object_type_id: str, ids: Iterable[int]) -> list[AssociationRow]:
        """Remove the associations of records (both directions) and return them, so a merge can re-attach them."""
        where = self._associations_of(object_type_id, list(ids))
        rows = [AssociationRow(*row) for row in self.conn.execute(sa.select(*ASSOCIATION_COLUMNS).where(where))]
        self.conn.execute(t.associations.delete().where(where))
        return rows

    def purge_objects(self, object_type_id: str, ids: list[int]) -> None:
        """Delete records for good: the rows, unique values, history, associations and merge links."""
        if not ids:
            return
        mine = {"portal_id": self.portal_id, "object_type_id": object_type_id}
        o, u = t.objects.c, t.unique_values.c
        self.conn.execute(t.associations.delete().where(self._associations_of(object_type_id, ids)))
        purge_history(self.conn, self.portal_id, object_type_id, ids)
        self.conn.execute(t.unique_values.delete().where(*_matches(u, mine), u.object_id.in_(ids)))
        links = sa.or_(_m.merged_id.in_(ids), _m.surviving_id.in_(ids))
        self.conn.execute(t.merged_objects.delete().where(*_matches(_m, mine), links))
        self.conn.execute(t.objects.delete().where(*_matches(o, mine), o.id.in_(ids)))

    def _associations_of(self, object_type_id: str, ids: list[int]) -> sa.ColumnElement:
        outgoing = sa.and_(_a.from_object_type_id == object_type_id, _a.from_id.in_(ids))
        incoming = sa.and_(_a.to_object_type_id == object_type_id, _a.to_id.in_(ids))
        return sa.and_(_a.portal_id == self.portal_id, sa.or_(outgoing, incoming))


def _matches(columns: sa.ColumnCollection, values: dict[str, object]) -> list[sa.ColumnElement]:
    return [columns[name] == value for name, value in values.items()]
