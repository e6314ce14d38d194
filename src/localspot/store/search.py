"""Store operations for search: stream a type's live records for the filters no index answers.

Index-answered filters (`hs_object_id`, unique values) use `RecordOps.load_objects` and
`RecordOps.find_unique`; only the scan lives here.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from localspot.store import tables as t
from localspot.store.base import StoredObject

SCAN_CHUNK = 1000


class SearchOps:
    conn: Connection
    portal_id: int

    def scan_objects(self, object_type_id: str, chunk: int = SCAN_CHUNK) -> Iterator[StoredObject]:
        """Every live record of a type in id order, from one statement fetched `chunk` rows at a time
        (a server-side cursor on PostgreSQL), so a million records never sit in memory at once."""
        o = t.objects.c
        query = (
            sa.select(o.id, o.properties, o.created_at, o.updated_at, o.archived, o.archived_at)
            .where(o.portal_id == self.portal_id, o.object_type_id == object_type_id, o.archived == sa.false())
            .order_by(o.id)
            .execution_options(yield_per=chunk)
        )
        with self.conn.execute(query) as rows:
            for row in rows:
                yield StoredObject(*row)
