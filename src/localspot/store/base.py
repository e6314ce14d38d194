"""What the store hands to the domain: plain rows and one error type, nothing of SQL or HTTP."""

from __future__ import annotations

from typing import Any, NamedTuple


class StoredObject(NamedTuple):
    id: int
    properties: dict[str, str]
    created_at: int
    updated_at: int
    archived: bool = False
    archived_at: int | None = None
    # The id of its newest history row (store.tables.property_history). Lists and searches do not read
    # it: write back only records read by id or unique value (load_objects, find_held), or the chain breaks.
    history_head: int | None = None


class HistoryEntry(NamedTuple):
    timestamp: int
    source_type: str
    source_id: str | None
    changes: dict[str, Any]


# One row of a record's history as the store appends it: (its id, the record's id, the id of the record's
# previous history row or None, the entry). The record's own row names the new one (StoredObject.history_head).
HistoryRow = tuple[int, int, int | None, HistoryEntry]


class AssociationRow(NamedTuple):
    from_object_type_id: str
    from_id: int
    to_object_type_id: str
    to_id: int
    association_category: str
    association_type_id: int


class AssociationLabelRow(NamedTuple):
    """One direction of a portal-defined association type (a USER_DEFINED label)."""

    from_object_type_id: str
    to_object_type_id: str
    association_type_id: int
    association_category: str
    name: str | None
    label: str | None
    inverse_type_id: int | None


class WriteConflict(Exception):
    """Another transaction claimed a unique value first; the caller retries its whole batch."""


class StoreUnavailable(Exception):
    """The database cannot be reached right now (restarting, network gone)."""
