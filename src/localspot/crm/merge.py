"""Merge (contacts, companies, deals, tickets) and GDPR delete (contacts).

A merge keeps the primary record's id: its values win, the merged record's values fill what the primary
lacks, the merged record's associations move to the primary, and the merged record is archived with
its id recorded in `merged_objects`, so reads of that id keep finding the surviving record.
A GDPR delete removes a contact and everything of it for good (no archive, no history, no links).
"""

from __future__ import annotations

from typing import Any

from localspot.crm import batch
from localspot.crm.definitions import TypeSchema, parse_record_id
from localspot.crm.errors import HubSpotError, not_found, object_not_found, validation_error
from localspot.crm.public import public_object
from localspot.crm.records import Ctx, resolve_ids
from localspot.crm.timestamps import now_ms
from localspot.crm.writes import Planned, WriteInput, WriteOutcome, persist, prepare
from localspot.store.base import AssociationRow, StoredObject

CONTACTS = "0-1"
MERGED_IDS = "hs_merged_object_ids"  # semicolon-separated ids merged into the record
ADDITIONAL_EMAILS = "hs_additional_emails"  # a merged contact's email lives on here
JOINED = (MERGED_IDS, ADDITIONAL_EMAILS)


def merge(ctx: Ctx, schema: TypeSchema, body: Any) -> dict[str, Any]:
    """`POST /{objectType}/merge`: 200 with the surviving record (the primary's id)."""
    if not schema.object_type.mergeable:
        raise _no_endpoint(schema, "merge", "contacts, companies, deals, tickets, projects and custom objects")
    body = batch.require_object(body)
    primary_id, merged_id = _body_id(body, "primaryObjectId"), _body_id(body, "objectIdToMerge")
    if primary_id == merged_id:
        raise validation_error(
            f"A record cannot be merged into itself: primaryObjectId and objectIdToMerge are both {primary_id}.",
            context={"ids": [str(primary_id)]},
        )
    primary, merged = _merge_pair(ctx, schema, primary_id, merged_id)
    now = now_ms()
    type_id = schema.object_type.object_type_id
    ctx.tx.archive_objects(type_id, [merged_id], now)  # first: frees the unique values the primary adopts
    survivor = Planned(WriteInput(0, None, {}, primary), combined_properties(schema, primary, merged))
    persist(ctx.tx, schema, prepare(schema, WriteOutcome([survivor], []), now))
    _move_associations(ctx, type_id, merged_id, primary_id, now)
    ctx.tx.record_merge(type_id, merged_id, primary_id)
    return public_object(schema, survivor.record, None, ctx.portal_id)


def _body_id(body: dict[str, Any], key: str) -> int:
    raw = body.get(key)
    if isinstance(raw, bool) or not isinstance(raw, str | int) or str(raw) == "":
        raise validation_error(f"`{key}` is required: the id of a record to merge.", context={key: ["missing"]})
    record_id = parse_record_id(str(raw))
    if record_id is None:
        raise object_not_found(str(raw))
    return record_id


def _merge_pair(ctx: Ctx, schema: TypeSchema, primary_id: int, merged_id: int) -> tuple[StoredObject, StoredObject]:
    """The two live records, locked; an id merged away before is refused with the id it lives on in."""
    type_id = schema.object_type.object_type_id
    merged_before = ctx.tx.find_merged(type_id, {primary_id, merged_id})
    if merged_before:
        old, survivor = min(merged_before.items())
        raise validation_error(
            f"{schema.object_type.singular} {old} was already merged into {survivor}; merge {survivor} instead.",
            context={"ids": [str(old)], "mergedInto": [str(survivor)]},
        )
    records = ctx.tx.load_objects(type_id, {primary_id, merged_id}, lock=True)
    missing = [str(i) for i in (primary_id, merged_id) if i not in records]
    if missing:
        raise not_found(
            f"No {schema.object_type.singular} with id {', '.join(missing)} exists (or it is archived).",
            context={"ids": missing},
        )
    return records[primary_id], records[merged_id]


def combined_properties(schema: TypeSchema, primary: StoredObject, merged: StoredObject) -> dict[str, str | None]:
    """What the primary gains: the merged record's values of properties the primary has no value for
    (unique ones included: the merged record gives them up), plus the joined merge bookkeeping."""
    mine = primary.properties
    changes: dict[str, str | None] = {
        name: value
        for name, value in merged.properties.items()
        if name not in mine and name in schema.properties and name not in JOINED
    }
    if MERGED_IDS in schema.properties:
        changes[MERGED_IDS] = _joined(mine.get(MERGED_IDS), str(merged.id), merged.properties.get(MERGED_IDS))
    if schema.object_type.object_type_id == CONTACTS and ADDITIONAL_EMAILS in schema.properties:
        theirs = merged.properties.get("email") if "email" in mine else None
        emails = _joined(mine.get(ADDITIONAL_EMAILS), theirs, merged.properties.get(ADDITIONAL_EMAILS))
        if emails:
            changes[ADDITIONAL_EMAILS] = emails
    return changes


def _joined(*lists: str | None) -> str:
    """Semicolon-separated values of several such lists, each once, in order."""
    values = [v for raw in lists if raw for v in raw.split(";") if v]
    return ";".join(dict.fromkeys(values))


def _move_associations(ctx: Ctx, type_id: str, merged_id: int, survivor_id: int, now: int) -> None:
    """Re-attach the merged record's associations (both directions) to the survivor; a pair the survivor
    already has is kept once, and a link between the two records themselves is dropped."""

    def moved(row: AssociationRow) -> AssociationRow:
        from_id = survivor_id if (row.from_object_type_id, row.from_id) == (type_id, merged_id) else row.from_id
        to_id = survivor_id if (row.to_object_type_id, row.to_id) == (type_id, merged_id) else row.to_id
        return row._replace(from_id=from_id, to_id=to_id)

    rows = {moved(r) for r in ctx.tx.take_associations(type_id, [merged_id])}
    kept = [r for r in rows if (r.from_object_type_id, r.from_id) != (r.to_object_type_id, r.to_id)]
    ctx.tx.insert_associations(sorted(kept), now)


def gdpr_delete(ctx: Ctx, schema: TypeSchema, body: Any) -> None:
    """`POST /contacts/gdpr-delete`: the contact (archived or not) and the records merged into it, gone
    for good. An email that names no contact answers 204: HubSpot blocklists it (LocalSpot has no blocklist)."""
    if schema.object_type.object_type_id != CONTACTS:
        raise _no_endpoint(schema, "gdpr-delete", "contacts")
    body = batch.require_object(body)
    object_id, id_property = body.get("objectId"), body.get("idProperty") or None
    if isinstance(object_id, bool) or not isinstance(object_id, str | int) or str(object_id) == "":
        raise validation_error("`objectId` is required: the contact's id, or its email with idProperty=email.")
    found = resolve_ids(ctx, schema, [str(object_id)], id_property, archived=None, lock=True)
    record = found.get(str(object_id))
    if record is None:
        if id_property == "email":
            return
        raise object_not_found(str(object_id))
    type_id = schema.object_type.object_type_id
    ctx.tx.purge_objects(type_id, [record.id, *ctx.tx.merged_into(type_id, record.id)])


def _no_endpoint(schema: TypeSchema, operation: str, types: str) -> HubSpotError:
    """HubSpot has no such route for other types; LocalSpot says which types have it."""
    return not_found(
        f"{schema.object_type.name} have no {operation} endpoint: HubSpot offers {operation} for {types} only.",
        context={"objectType": [schema.object_type.name]},
    )
