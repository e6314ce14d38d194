"""Store operations on records: ids, objects, unique values and property history."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.selectable import Join

from localspot.store import tables as t
from localspot.store.base import HistoryEntry, HistoryRow, StoredObject
from localspot.store.driver import Lookup, ManyRows

_o, _u, _p = t.objects.c, t.unique_values.c, t.portals.c

# Hot statements are built once, with bind parameters; the hottest run on the driver (store.driver): rebuilding
# a statement (and its cache key) on every call cost more than running it.
# SQLite's; PostgreSQL takes ids from one sequence. Ids are unique across portals, as there: the portal's
# counter moves past the highest of all portals' (SQLite's one writer at a time makes that safe), so that a
# record's id can be its row's key (revision 0004).
_ALLOCATE_IDS = Lookup(
    lambda _is_sqlite: (
        t.portals.update()
        .where(_p.portal_id == sa.bindparam("portal"))
        .values(next_object_id=sa.select(sa.func.max(_p.next_object_id)).scalar_subquery() + sa.bindparam("count"))
        .returning(_p.next_object_id)
    )
)
_UPDATE_OBJECT = ManyRows.update(
    t.objects, ("properties", "updated_at", "history_head"), ("portal_id", "object_type_id", "id")
)
# A StoredObject's fields are named as the table's columns: a row is the keys, then the record as is.
_INSERT_OBJECT = ManyRows.insert(t.objects, ("portal_id", "object_type_id", *StoredObject._fields))
_CLAIM_UNIQUE = ManyRows.insert(t.unique_values, ("portal_id", "object_type_id", "property_name", "value", "object_id"))
_APPEND_HISTORY = ManyRows.insert(
    t.property_history,
    (
        "portal_id",
        "id",
        "object_type_id",
        "object_id",
        "timestamp",
        "source_type",
        "source_id",
        "changes",
        "previous_id",
    ),
)
# SQLite's history ids follow the table's highest (one writer at a time); PostgreSQL's come from a sequence,
# taken with the record ids' in one statement (kind 0: a record's, 1: a history row's).
_ALLOCATE_FROM_SEQUENCES = sa.text(
    "SELECT 0, nextval('object_id_seq') FROM generate_series(1, :records) "
    "UNION ALL SELECT 1, nextval('property_history_id_seq') FROM generate_series(1, :history)"
)
_LAST_HISTORY_ID = Lookup(
    lambda _is_sqlite: sa.select(sa.func.coalesce(sa.func.max(t.property_history.c.id), sa.literal_column("0")))
)
_RELEASE_UNIQUE = ManyRows.delete(t.unique_values, ("portal_id", "object_type_id", "property_name", "value"))


def _one_of(column: sa.Column, name: str, is_sqlite: bool) -> sa.ColumnElement[bool]:
    """`column IN (list)`, bound as one parameter so that the statement text is the same whatever the
    list's length: SQLite reads a JSON array (`json_each`), PostgreSQL an array (`= ANY`). An expanding
    IN list is rewritten and re-rendered on every call (a tenth of a batch upsert's SQLAlchemy time), and
    PostgreSQL spent more planning a 100-item IN list than running it. Both plans look each item up in
    the index, as an IN list does (tests/store/test_lookups.py)."""
    if is_sqlite:
        return column.in_(sa.select(_json_list(name).c.value).scalar_subquery())
    return column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(column.type)))


def _json_list(name: str) -> sa.TableValuedAlias:
    """SQLite: the items of list parameter `name`, bound as one JSON array, as a table of one column (`value`)."""
    return sa.func.json_each(sa.bindparam(name, type_=sa.JSON)).table_valued("value")


def _find_unique(is_sqlite: bool) -> sa.Select:
    return sa.select(_u.value, _u.object_id).where(
        _u.portal_id == sa.bindparam("portal"),
        _u.object_type_id == sa.bindparam("type"),
        _u.property_name == sa.bindparam("prop"),
        _one_of(_u.value, "values", is_sqlite),
    )


_FIND_UNIQUE = Lookup(_find_unique, ("values",))
_OBJECT_COLUMNS = (_o.id, _o.properties, _o.created_at, _o.updated_at, _o.archived, _o.archived_at, _o.history_head)


def _of_ids(columns: tuple[sa.Column, ...], is_sqlite: bool) -> sa.Select:
    """`columns` of a type's records by id (`ids`).

    On SQLite the ids are the outer loop, and each is looked up by the table's own key: the rowid of a
    table keyed by id (revision 0004), the key's index of one keyed by portal, type and id. Asked as
    `id IN (...)`, SQLite's planner walked the key's index and then the table for every id: one more
    descent each, in a write transaction that starts with an emptied page cache (the versions check under
    two workers: CPU per 1M batch upsert -4% to -8% in-process, docs/benchmarks.md, eleventh round)."""
    of_type = (_o.portal_id == sa.bindparam("portal"), _o.object_type_id == sa.bindparam("type"))
    if not is_sqlite:
        return sa.select(*columns).where(*of_type, _one_of(_o.id, "ids", is_sqlite))
    ids = _json_list("ids").alias("ids")
    return sa.select(*columns).select_from(_CrossJoin(ids, t.objects, _o.id == ids.c.value)).where(*of_type)


class _CrossJoin(Join):
    """An inner join that SQLite runs in the order written, the left side the outer loop: SQLite's
    planner never reorders the tables of a `CROSS JOIN` (and otherwise, with the ids not counted, took
    the type's whole index as the outer loop)."""

    inherit_cache = True


@compiles(_CrossJoin, "sqlite")
def _sqlite_cross_join(join: _CrossJoin, compiler: Any, **kw: Any) -> str:
    """SQLAlchemy's own rendering of the join (and its checks), with its keyword made CROSS JOIN."""
    left, keyword, rest = compiler.visit_join(join, **kw).partition(" JOIN ")
    if not keyword:
        raise ValueError(f"no JOIN to make a CROSS JOIN of in {left}")
    return f"{left} CROSS JOIN {rest}"


@cache
def _objects_by_id(filter_archived: bool, lock: bool) -> Lookup:
    return Lookup(lambda is_sqlite: _filtered(_of_ids(_OBJECT_COLUMNS, is_sqlite), filter_archived, lock), ("ids",))


# Which version of each record is stored: its history head and whether it is archived (`_versions_unchanged`).
_RECORD_VERSIONS = Lookup(
    lambda is_sqlite: _filtered(_of_ids((_o.id, _o.history_head, _o.archived), is_sqlite), False, lock=True), ("ids",)
)


@cache
def _held_objects(filter_archived: bool, lock: bool) -> Lookup:
    """Records by the values of unique properties, joined in one statement: `names` x `values` may match
    more pairs than were asked for, which the caller drops."""

    def build(is_sqlite: bool) -> sa.Select:
        holder = sa.and_(_o.portal_id == _u.portal_id, _o.object_type_id == _u.object_type_id, _o.id == _u.object_id)
        query = (
            sa.select(_u.property_name, _u.value, *_OBJECT_COLUMNS)
            .join_from(t.unique_values, t.objects, holder)
            .where(
                _u.portal_id == sa.bindparam("portal"),
                _u.object_type_id == sa.bindparam("type"),
                _one_of(_u.property_name, "names", is_sqlite),
                _one_of(_u.value, "values", is_sqlite),
            )
        )
        return _filtered(query, filter_archived, lock)

    return Lookup(build, ("names", "values"))


def _filtered(query: sa.Select, filter_archived: bool, lock: bool) -> sa.Select:
    if filter_archived:
        query = query.where(_o.archived == sa.bindparam("archived"))
    if lock:
        query = query.order_by(_o.id).with_for_update(of=t.objects)
    return query


def _stored(row: tuple) -> StoredObject:
    """A StoredObject from a driver row of `_OBJECT_COLUMNS`: SQLite hands JSON back as text and booleans
    as 0/1; psycopg parses JSONB itself."""
    object_id, properties, created_at, updated_at, archived, archived_at, history_head = row
    if isinstance(properties, str):
        properties = orjson.loads(properties)
    return StoredObject(object_id, properties, created_at, updated_at, bool(archived), archived_at, history_head)


def _by_id(row: StoredObject) -> int:
    return row.id


def history_chains(portal_id: int, object_type_id: str, ids: list[int] | None) -> sa.CTE:
    """The history row ids of records (`ids`, or every record of the type), each record's from its newest
    (`depth` 0) back to its first. A step stays within its record, so a damaged link cannot pull in
    another record's history."""
    h = t.property_history.c
    heads = sa.select(
        _o.id.label("object_id"), _o.history_head.label("history_id"), sa.literal(0).label("depth")
    ).where(_o.portal_id == portal_id, _o.object_type_id == object_type_id, _o.history_head.is_not(None))
    if ids is not None:
        heads = heads.where(_o.id.in_(ids))
    chain = heads.cte("history_chain", recursive=True)
    row = sa.and_(
        h.portal_id == portal_id,
        h.id == chain.c.history_id,
        h.object_id == chain.c.object_id,
        h.previous_id.is_not(None),
    )
    earlier = sa.select(chain.c.object_id, h.previous_id, chain.c.depth + 1).join_from(chain, t.property_history, row)
    return chain.union_all(earlier)


def purge_history(conn: Connection, portal_id: int, object_type_id: str, ids: list[int] | None) -> None:
    """Delete the history of records (`ids`, or every record of the type): before the records, whose
    heads lead to it."""
    h = t.property_history.c
    chains = history_chains(portal_id, object_type_id, ids)
    conn.execute(t.property_history.delete().where(h.portal_id == portal_id, h.id.in_(sa.select(chains.c.history_id))))


# Lookups a transaction made, each with its parameters and the raw rows it answered (RecordOps.record_reads).
ReadLog = list[tuple[Lookup, dict[str, Any], Sequence[tuple]]]


def _of_live_records_by_key(read: tuple[Lookup, dict[str, Any], Sequence[tuple]]) -> bool:
    """A `find_held` lookup of live records (`archived` False), locked as a write's matching locks them.
    Only a batch upsert's match makes one in a plan (crm.records `_match_upsert_keys`): a plan that
    looked up anything else this way would have to claim what it found free too."""
    lookup, params, _rows = read
    return lookup is _held_objects(True, True) and params.get("archived") is False


class RecordOps:
    conn: Connection
    portal_id: int
    is_sqlite: bool
    reads: ReadLog | None = None  # see record_reads

    def record_reads(self) -> ReadLog:
        """From now on, keep each lookup of this transaction with its rows, in the list returned: another
        transaction can ask them again (`reads_unchanged`)."""
        self.reads = []
        return self.reads

    def _looked_up(self, lookup: Lookup, params: dict[str, Any]) -> Sequence[tuple]:
        rows = lookup.rows(self.conn, params)
        if self.reads is not None:
            self.reads.append((lookup, params, rows))
        return rows

    def reads_unchanged(self, reads: ReadLog, claims_free_keys: bool = False) -> bool:
        """Whether each lookup another transaction made (its `reads`) answers the same here: the raw rows,
        JSON text and timestamps included, so a write that changed a record read tells.

        `claims_free_keys`: the caller claims every unique value its lookups of live records by unique
        value (`find_held`) found free, so that a value taken since fails that claim's INSERT
        (WriteConflict: the batch runs again). Such a lookup then needs asking again only for the records
        it found, and of those only whether each is still the version read (`_versions_unchanged`): the
        records read by id in one statement instead of the whole lookup again (the write transaction 3-5%
        shorter, docs/benchmarks.md, tenth round)."""
        held: ReadLog = []
        others: ReadLog = []
        for read in reads:
            (held if claims_free_keys and _of_live_records_by_key(read) else others).append(read)
        if held and not self._versions_unchanged(held):
            return False
        return all(lookup.rows(self.conn, params) == rows for lookup, params, rows in others)

    def _versions_unchanged(self, held: ReadLog) -> bool:
        """Whether the records these `find_held` lookups found are still stored as they were read, live.

        A record's history head names its latest version: every write of its values appends a history row
        and makes it the head (crm.writes.persist, the only writer of `update_objects`). The head row stays
        while the record lives (only purges delete history), and a new history id is above every id in the
        table (SQLite) or from a sequence (PostgreSQL), so a record's next head never equals an earlier one.
        Archiving sets `archived`; a purge removes the row. A record that holds a unique value holds it
        until one of these happens to it."""
        expected: dict[str, dict[int, tuple]] = {}
        for _lookup, params, rows in held:
            for _name, _value, object_id, *_rest, archived, _archived_at, history_head in rows:
                expected.setdefault(params["type"], {})[object_id] = (history_head, archived)
        for object_type_id, records in expected.items():
            params = {"portal": self.portal_id, "type": object_type_id, "ids": sorted(records)}
            stored = {row[0]: (row[1], row[2]) for row in _RECORD_VERSIONS.rows(self.conn, params)}
            if stored != records:
                return False
        return True

    def allocate(self, records: int, history: int = 0) -> tuple[list[int], list[int]]:
        """Ids for new records and for new history rows. On PostgreSQL in one round trip: a request thread
        back from the network waits for the GIL again (up to the 5 ms switch interval while other threads
        run Python). With a second statement here, two workers' batch upserts ran 9-23% slower than before
        history chains; with one, -15% to +5% (docs/benchmarks.md, ninth round)."""
        if self.is_sqlite:
            return self._sqlite_record_ids(records), self._sqlite_history_ids(history)
        if records + history == 0:
            return [], []
        ids: tuple[list[int], list[int]] = ([], [])
        for kind, value in self.conn.execute(_ALLOCATE_FROM_SEQUENCES, {"records": records, "history": history}):
            ids[kind].append(value)
        return sorted(ids[0]), sorted(ids[1])

    def allocate_ids(self, count: int) -> list[int]:
        return self.allocate(count)[0]

    def _sqlite_record_ids(self, count: int) -> list[int]:
        if count == 0:
            return []
        [(end,)] = _ALLOCATE_IDS.rows(self.conn, {"portal": self.portal_id, "count": count})
        return list(range(end - count, end))

    def _sqlite_history_ids(self, count: int) -> list[int]:
        if count == 0:
            return []
        [(last,)] = _LAST_HISTORY_ID.rows(self.conn, {})
        return list(range(last + 1, last + 1 + count))

    def load_objects(
        self, object_type_id: str, ids: Iterable[int], archived: bool | None = False, lock: bool = False
    ) -> dict[int, StoredObject]:
        """Records by id. `lock` reads them FOR UPDATE (in id order, so lockers cannot deadlock): a
        read-modify-write must not merge onto a version another transaction is replacing."""
        ids = sorted(set(ids))  # each once: SQLite's lookup answers a row per id asked (`_of_ids`)
        if not ids:
            return {}
        params = {"portal": self.portal_id, "type": object_type_id, "ids": ids, "archived": archived}
        rows = self._looked_up(_objects_by_id(archived is not None, lock), params)
        return {row[0]: _stored(row) for row in rows}

    def insert_objects(self, object_type_id: str, rows: list[StoredObject]) -> None:
        portal = self.portal_id
        _INSERT_OBJECT.run(self.conn, [(portal, object_type_id, *r) for r in rows])

    def update_objects(self, object_type_id: str, rows: list[StoredObject]) -> None:
        # Callers loaded these rows FOR UPDATE in id order (load_objects), so racing batches cannot
        # deadlock; the sort keeps this statement's own row order the same. Each row names a new history
        # head: `_versions_unchanged` relies on every write of a record's values doing so.
        portal = self.portal_id
        _UPDATE_OBJECT.run(
            self.conn,
            [
                (r.properties, r.updated_at, r.history_head, portal, object_type_id, r.id)
                for r in sorted(rows, key=_by_id)
            ],
        )

    # --- unique values ---------------------------------------------------------------------------

    def find_unique(self, object_type_id: str, property_name: str, values: Iterable[str]) -> dict[str, int]:
        """Which records hold these values of a unique property (value -> record id)."""
        values = list(values)
        if not values:
            return {}
        params = {"portal": self.portal_id, "type": object_type_id, "prop": property_name, "values": values}
        return dict(self._looked_up(_FIND_UNIQUE, params))

    def find_held(
        self, object_type_id: str, keys: Iterable[tuple[str, str]], archived: bool | None = False, lock: bool = False
    ) -> dict[tuple[str, str], StoredObject]:
        """The records holding these (unique property, value) pairs, in one statement: a lookup and a
        `load_objects` in one, locked as `load_objects` locks."""
        keys = set(keys)
        if not keys:
            return {}
        names, values = sorted({n for n, _ in keys}), sorted({v for _, v in keys})
        params = {
            "portal": self.portal_id,
            "type": object_type_id,
            "names": names,
            "values": values,
            "archived": archived,
        }
        rows = self._looked_up(_held_objects(archived is not None, lock), params)
        return {(row[0], row[1]): _stored(row[2:]) for row in rows if (row[0], row[1]) in keys}

    def claim_unique(self, object_type_id: str, claims: list[tuple[str, str, int]]) -> None:
        """Insert (property, value, record id) rows; a value someone else holds raises WriteConflict."""
        portal = self.portal_id
        # A stable order keeps racing batches from deadlocking.
        _CLAIM_UNIQUE.run(self.conn, [(portal, object_type_id, p, v, i) for p, v, i in sorted(claims)])

    def release_unique(self, object_type_id: str, releases: list[tuple[str, str]]) -> None:
        portal = self.portal_id
        _RELEASE_UNIQUE.run(self.conn, [(portal, object_type_id, p, v) for p, v in sorted(releases)])

    # --- history ---------------------------------------------------------------------------------

    def append_history(self, object_type_id: str, entries: list[HistoryRow]) -> None:
        """Rows (history id, record id, the record's previous history id, entry); the records' rows name
        their new heads (`history_head`), written in the same transaction."""
        portal = self.portal_id
        _APPEND_HISTORY.run(
            self.conn,
            [
                (portal, i, object_type_id, object_id, e.timestamp, e.source_type, e.source_id, e.changes, previous)
                for i, object_id, previous, e in entries
            ],
        )

    def load_history(self, object_type_id: str, ids: Iterable[int]) -> dict[int, list[HistoryEntry]]:
        """Each record's writes, newest first (HubSpot lists history newest first): its chain, from the head."""
        chain = history_chains(self.portal_id, object_type_id, list(ids))
        h = t.property_history.c
        query = (
            sa.select(chain.c.object_id, h.timestamp, h.source_type, h.source_id, h.changes)
            .join_from(chain, t.property_history, sa.and_(h.portal_id == self.portal_id, h.id == chain.c.history_id))
            .order_by(chain.c.object_id, chain.c.depth)
        )
        out: dict[int, list[HistoryEntry]] = {}
        for row in self.conn.execute(query):
            out.setdefault(row.object_id, []).append(HistoryEntry(*row[1:]))
        return out

    def list_objects(self, object_type_id: str, after_id: int, limit: int, archived: bool) -> list[StoredObject]:
        """One page of a type's records in id order, starting at `after_id` (the paging cursor)."""
        o = t.objects.c
        query = (
            sa.select(o.id, o.properties, o.created_at, o.updated_at, o.archived, o.archived_at)
            .where(
                o.portal_id == self.portal_id,
                o.object_type_id == object_type_id,
                o.archived == archived,
                o.id >= after_id,
            )
            .order_by(o.id)
            .limit(limit)
        )
        return [StoredObject(*row) for row in self.conn.execute(query)]

    def archive_objects(self, object_type_id: str, ids: list[int], archived_at: int) -> None:
        """Archive records and free their unique values, so the values can name new records."""
        if not ids:
            return
        o, u = t.objects.c, t.unique_values.c
        self.conn.execute(
            t.objects.update()
            .where(o.portal_id == self.portal_id, o.object_type_id == object_type_id, o.id.in_(ids))
            .values(archived=True, archived_at=archived_at, updated_at=archived_at)
        )
        self.conn.execute(
            t.unique_values.delete().where(
                u.portal_id == self.portal_id, u.object_type_id == object_type_id, u.object_id.in_(ids)
            )
        )
