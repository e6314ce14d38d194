"""The one way a stored record becomes HubSpot's `SimplePublicObject` (and its variants).

System values (`hs_object_id`, create and modify dates) are derived from the record, never stored twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from localspot.crm.definitions import SYSTEM_VALUES, TypeSchema
from localspot.crm.timestamps import iso_from_ms
from localspot.store.base import HistoryEntry, StoredObject

HISTORY_SOURCE = "INTEGRATION"  # what HubSpot records for writes made through a private app's token


def system_value(kind: str, record: StoredObject) -> str:
    if kind == "id":
        return str(record.id)
    return iso_from_ms(record.created_at if kind == "created_at" else record.updated_at)


def selected_properties(schema: TypeSchema, record: StoredObject, names: Iterable[str]) -> dict[str, str | None]:
    """The named properties; unknown names are ignored and known-but-empty ones read as null, as HubSpot does."""
    values: dict[str, str | None] = {}
    for name in names:
        kind = SYSTEM_VALUES.get(name)
        if kind is not None and name in schema.properties:
            values[name] = system_value(kind, record)
        elif name in schema.properties:
            values[name] = record.properties.get(name)
    return values


def property_history(
    schema: TypeSchema, record: StoredObject, entries: list[HistoryEntry], names: Iterable[str]
) -> dict[str, list[dict[str, Any]]]:
    """`propertiesWithHistory`: each named property's versions, newest first."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name in names:
        if name not in schema.properties:
            continue
        kind = SYSTEM_VALUES.get(name)
        if kind is None:
            versions = [_version(e.changes[name], e) for e in entries if name in e.changes]
        elif kind == "updated_at":
            versions = [_version(iso_from_ms(e.timestamp), e) for e in entries]
        else:
            versions = [_version(system_value(kind, record), HistoryEntry(record.created_at, HISTORY_SOURCE, None, {}))]
        out[name] = versions
    return out


def _version(value: str | None, entry: HistoryEntry) -> dict[str, Any]:
    version: dict[str, Any] = {
        "value": "" if value is None else value,
        "timestamp": iso_from_ms(entry.timestamp),
        "sourceType": entry.source_type,
    }
    if entry.source_id is not None:
        version["sourceId"] = entry.source_id
    return version


def public_object(
    schema: TypeSchema,
    record: StoredObject,
    properties: dict[str, str | None] | None,
    portal_id: int,
    **extra: Any,
) -> dict[str, Any]:
    """`SimplePublicObject`; `extra` adds `new`, `objectWriteTraceId`, `propertiesWithHistory`, `associations`.

    `properties` None: everything the record holds, plus its system values (the form batch writes answer
    with; a batch answers with a hundred, so the record's times are formatted once for both places)."""
    record_id = str(record.id)
    created, updated = iso_from_ms(record.created_at), iso_from_ms(record.updated_at)
    if properties is None:
        properties = dict(record.properties)
        # `system_value`'s values, by kind, from the three made once above: through `system_value` (or a
        # function making such a dict for every record) a batch read took 2.5% more instructions.
        by_kind = {"id": record_id, "created_at": created, "updated_at": updated}
        for name, kind in schema.system_values:
            properties[name] = by_kind[kind]
    out: dict[str, Any] = {
        "id": record_id,
        "properties": properties,
        "createdAt": created,
        "updatedAt": updated,
        "archived": record.archived,
    }
    if record.archived_at is not None:
        out["archivedAt"] = iso_from_ms(record.archived_at)
    for key, value in extra.items():
        if value is not None:
            out[key] = value
    out["url"] = record_url(portal_id, schema.object_type.object_type_id, record_id)
    return out


def record_url(portal_id: int, object_type_id: str, record_id: int | str) -> str:
    """HubSpot's record-page link (the 2026-03 `url` field); LocalSpot has no UI, so it names HubSpot's."""
    return f"https://app.hubspot.com/contacts/{portal_id}/record/{object_type_id}/{record_id}"
