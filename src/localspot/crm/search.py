"""`POST /{objectType}/search`: HubSpot's `PublicObjectSearchRequest` over one object type.

Filter groups are ORed, the filters inside a group ANDed, and `query` ANDed with both. How records are
found: when every filter group holds an `EQ` or `IN` on `hs_object_id` (the primary key) or on a
property with unique values (the unique-value index; a contact's email too), only the records those
lookups name are loaded and the other filters run on them. Otherwise the type's live records stream
in id order, a chunk at a time, and are filtered here. Pages are numeric offsets (`after`), ordered by
`sorts`, then by record id ascending (the order when no sort is given).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from localspot.crm import batch
from localspot.crm.definitions import TypeSchema, ascii_int, parse_record_id
from localspot.crm.errors import HubSpotError, validation_error
from localspot.crm.records import Ctx, ReadOptions, name_list, public_records, storable
from localspot.crm.search_filters import Field, Filter, compile_filter, field_of, query_test
from localspot.store.base import StoredObject

DEFAULT_LIMIT = 10
DIRECTIONS = ("ASCENDING", "DESCENDING")


@dataclass(frozen=True)
class SearchRequest:
    groups: list[list[Filter]]
    query: Callable[[StoredObject], bool] | None
    sorts: list[tuple[Field, bool]]  # (property, descending)
    properties: tuple[str, ...]
    limit: int
    offset: int

    def matches(self, record: StoredObject) -> bool:
        if self.query is not None and not self.query(record):
            return False
        return not self.groups or any(all(f.test(record) for f in group) for group in self.groups)


def search(ctx: Ctx, schema: TypeSchema, body: Any) -> dict[str, Any]:
    request = parse_request(schema, body, ctx.limits.search)
    found = _Counted(r for r in _candidates(ctx, schema, request.groups) if request.matches(r))
    # Only the records up to the end of the asked page are kept (at most 10,000), never every match.
    ranked = heapq.nsmallest(request.offset + request.limit, found, key=_sort_key(request.sorts))
    page = ranked[request.offset :]
    out: dict[str, Any] = {
        "total": found.count,
        "results": public_records(ctx, schema, page, ReadOptions(properties=request.properties)),
    }
    next_offset = request.offset + request.limit
    if next_offset < found.count:
        out["paging"] = {"next": {"after": str(next_offset), "link": f"?after={next_offset}"}}
    return out


class _Counted:
    """Counts what passes through, so `total` needs no second pass over the matches."""

    def __init__(self, items: Iterable[StoredObject]) -> None:
        self.items, self.count = items, 0

    def __iter__(self) -> Iterator[StoredObject]:
        for item in self.items:
            self.count += 1
            yield item


# --- plan: index lookups or a scan ------------------------------------------------------------------


def _anchor(group: list[Filter]) -> Filter | None:
    """A filter of the group that an index answers; every match of the group is among its records."""
    return next((f for f in group if f.index_keys is not None), None)


def _candidates(ctx: Ctx, schema: TypeSchema, groups: list[list[Filter]]) -> Iterable[StoredObject]:
    type_id = schema.object_type.object_type_id
    anchors = [_anchor(g) for g in groups]
    if not anchors or None in anchors:
        return ctx.tx.scan_objects(type_id)
    ids: set[int] = set()
    keys_by_property: dict[str, set[str]] = defaultdict(set)
    for anchor in anchors:
        if anchor.field.system == "id":
            ids |= {i for k in anchor.index_keys if (i := parse_record_id(k)) is not None}
        else:
            keys_by_property[anchor.field.prop.name] |= set(anchor.index_keys)
    for name, keys in keys_by_property.items():  # one lookup per property, at most one per group
        ids |= set(ctx.tx.find_unique(type_id, name, storable(keys)).values())
    records = ctx.tx.load_objects(type_id, ids)
    return [records[i] for i in sorted(records)]


# --- order ------------------------------------------------------------------------------------------


class _Descending:
    """Reverses one sort value's order inside a key tuple."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Descending) -> bool:
        return other.value < self.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.value == other.value


def _sort_key(sorts: list[tuple[Field, bool]]) -> Callable[[StoredObject], tuple]:
    """Records without a value sort last in either direction; ties go by record id ascending."""

    def key(record: StoredObject) -> tuple:
        parts: list[tuple] = []
        for field, descending in sorts:
            value = field.sort_value(record)
            parts.append((1,) if value is None else (0, _Descending(value) if descending else value))
        return (*parts, record.id)

    return key


# --- the request body -------------------------------------------------------------------------------


def parse_request(schema: TypeSchema, body: Any, limits: batch.SearchLimits) -> SearchRequest:
    body = batch.require_object(body)
    limit, offset = _limit(body.get("limit"), limits), _offset(body.get("after"))
    if offset + limit > limits.max_results:
        raise validation_error(
            f"Search results are capped at {limits.max_results}: after ({offset}) + limit ({limit}) reaches past "
            "them. Narrow the filters (e.g. on hs_object_id or a date) to page further.",
            context={"after": [str(offset)], "limit": [str(limit)]},
        )
    return SearchRequest(
        groups=_filter_groups(schema, body.get("filterGroups"), limits),
        query=_query(schema, body.get("query"), limits),
        sorts=[_sort(schema, s) for s in _as_list(body.get("sorts"), "sorts")],
        properties=tuple(name_list(body, "properties")),
        limit=limit,
        offset=offset,
    )


def _as_list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise validation_error(f"`{name}` must be a list.", context={name: ["not a list"]})
    return value


def _filter_groups(schema: TypeSchema, raw: Any, limits: batch.SearchLimits) -> list[list[Filter]]:
    groups = _as_list(raw, "filterGroups")
    if len(groups) > limits.max_filter_groups:
        raise _too_many(f"filter groups: {len(groups)}", f"{limits.max_filter_groups} filterGroups")
    filters = [_group_filters(g, i) for i, g in enumerate(groups)]
    for i, group in enumerate(filters):
        if len(group) > limits.max_filters_per_group:
            raise _too_many(f"filters in filterGroups[{i}]: {len(group)}", f"{limits.max_filters_per_group} per group")
    total = sum(map(len, filters))
    if total > limits.max_filters:
        raise _too_many(f"filters: {total}", f"{limits.max_filters} filters across all groups")
    return [
        [compile_filter(schema, f, f"filterGroups[{i}].filters[{j}]") for j, f in enumerate(group)]
        for i, group in enumerate(filters)
    ]


def _group_filters(group: Any, index: int) -> list[Any]:
    if not isinstance(group, dict):
        raise validation_error(f"filterGroups[{index}] must be an object with a `filters` list.")
    return _as_list(group.get("filters"), f"filterGroups[{index}].filters")


def _too_many(what: str, most: str) -> HubSpotError:
    return validation_error(f"Too many {what}. A search takes at most {most}.")


def _query(schema: TypeSchema, raw: Any, limits: batch.SearchLimits) -> Callable[[StoredObject], bool] | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise validation_error("`query` must be a string.")
    if len(raw) > limits.max_query_length:
        raise validation_error(
            f"`query` is {len(raw)} characters long; a search query takes at most {limits.max_query_length}.",
            context={"query": [str(len(raw))]},
        )
    if not raw.split():
        return None
    names = dict.fromkeys((*schema.object_type.searchable_properties, "hs_object_id"))
    return query_test([field_of(schema, n) for n in names if n in schema.properties], raw)


def _sort(schema: TypeSchema, raw: Any) -> tuple[Field, bool]:
    """`"createdate"` / `"-createdate"`, `{"propertyName", "direction"}`, or that object JSON-encoded in a
    string (what typed SDKs, whose `sorts` are strings, are told to send)."""
    if isinstance(raw, str) and raw.lstrip().startswith("{"):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise validation_error(f"sorts: {raw!r} is neither a property name nor a sort object.") from None
    if isinstance(raw, str):
        return field_of(schema, raw.removeprefix("-"), "sort"), raw.startswith("-")
    if not isinstance(raw, dict):
        raise validation_error('Each sort is a property name ("-name" descending) or {propertyName, direction}.')
    direction = raw.get("direction", "ASCENDING")
    if direction not in DIRECTIONS:
        raise validation_error(f"sort direction {direction!r} must be ASCENDING or DESCENDING.")
    return field_of(schema, raw.get("propertyName"), "sort"), direction == "DESCENDING"


def _limit(raw: Any, limits: batch.SearchLimits) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= limits.max_page:
        raise validation_error(
            f"limit must be a whole number from 1 to {limits.max_page} (it was {raw!r}); page with `after` for more.",
            context={"limit": [str(raw)]},
        )
    return raw


def _offset(raw: Any) -> int:
    """`after` is the offset of the page's first result, as the previous page's `paging.next.after` gave it."""
    if raw is None or raw == "":
        return 0
    text = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
    offset = ascii_int(text) if isinstance(text, str) and not text.startswith("-") else None
    if offset is None:
        raise validation_error(
            f"after must be the paging.next.after of a previous page (a number), not {raw!r}.",
            context={"after": [str(raw)]},
        )
    return offset
