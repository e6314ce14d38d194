"""Record operations after creation: list with paging, update (single and batch), archive (single and batch).

Updates run through the same write pipeline as creates and upserts (`crm.writes`), so validation,
unique values and history behave identically; only how inputs find their records differs.
"""

from __future__ import annotations

from typing import Any

from localspot.crm import batch
from localspot.crm.ahead import Ahead
from localspot.crm.definitions import TypeSchema, parse_record_id
from localspot.crm.errors import HubSpotError, not_found, object_not_found, validation_error
from localspot.crm.records import (
    AfterCommit,
    Ctx,
    NormalizedInputs,
    ReadOptions,
    check_id_property,
    non_unique_property,
    public_records,
    resolve_ids,
    write_batch,
    write_one,
)
from localspot.crm.timestamps import now_ms
from localspot.crm.writes import Failure, WriteInput

MAX_PAGE = 100
MAX_HISTORY_PAGE = 50


def list_records(ctx: Ctx, schema: TypeSchema, limit: int, after: str | None, options: ReadOptions) -> dict:
    """`GET /{objectType}`: records in id order; `paging.next.after` names where the next page starts.

    With `propertiesWithHistory` a page holds at most 50 records: a larger (valid) limit is cut to 50
    rather than refused, because hubspot-api-client's generic `crm.objects.get_all` asks for 100 even then.
    """
    check_page_limit(limit, MAX_PAGE)
    if options.properties_with_history:
        limit = min(limit, MAX_HISTORY_PAGE)
    start = paging_cursor(after)
    rows = ctx.tx.list_objects(schema.object_type.object_type_id, start, limit + 1, options.archived)
    out: dict[str, Any] = {"results": public_records(ctx, schema, rows[:limit], options)}
    if len(rows) > limit:
        cursor = str(rows[limit].id)
        out["paging"] = {"next": {"after": cursor, "link": f"?after={cursor}"}}
    return out


def check_page_limit(limit: int, maximum: int) -> None:
    if not 1 <= limit <= maximum:
        raise validation_error(
            f"limit must be between 1 and {maximum} (it was {limit}); page with `after` for more.",
            context={"limit": [str(limit)]},
        )


def paging_cursor(after: object) -> int:
    if after is None or after == "":
        return 0
    cursor = parse_record_id(after) if isinstance(after, str) else None  # cursors are record ids
    if cursor is None:
        raise validation_error(f"`after` {after!r} is not a paging cursor from a previous page.")
    return cursor


def update(ctx: Ctx, schema: TypeSchema, object_id: str, id_property: str | None, body: Any) -> tuple[int, dict]:
    """`PATCH /{objectType}/{objectId}`: set the given properties; `""` clears one."""
    body = batch.require_object(body)
    properties = batch.input_properties(body, 0)
    record = _updatable(ctx, schema, [object_id], id_property).get(object_id)
    if record is None:
        raise object_not_found(object_id)
    return 200, write_one(ctx, schema, WriteInput(0, None, properties, record))


def batch_update(ctx: Ctx, schema: TypeSchema, body: Any, normalized: Ahead[NormalizedInputs]) -> AfterCommit:
    """`POST .../batch/update`: by record id or by a unique `idProperty` (not `email`, as HubSpot)."""
    started = now_ms()
    raw_inputs = batch.batch_inputs(body, ctx.limits)
    ahead = normalized.result(schema)
    traces = batch.trace_ids(raw_inputs)
    ids = [batch.input_id(item, i) for i, item in enumerate(raw_inputs)]
    batch.reject_duplicate_ids(ids)
    id_properties = {check_id_property(item.get("idProperty")) for item in raw_inputs}
    if len(id_properties) > 1:
        raise validation_error("All inputs of a batch update must use the same idProperty (or none).")
    records = _updatable(ctx, schema, ids, id_properties.pop(), by_email=False)
    # Two ids may name one record (a merged-away id and its survivor, "1" and "1.0" of a unique
    # number): HubSpot rejects a batch that would write a record twice, as upsert does.
    batch.reject_duplicate_ids([records[i].id if i in records else ("missing", i) for i in ids], ids)
    inputs, failures = [], []
    for index, item in enumerate(raw_inputs):
        properties = batch.input_properties(item, index)
        if ids[index] in records:
            record, normalized_values = records[ids[index]], ahead.get(index)
            inputs.append(WriteInput(index, traces[index], properties, record, normalized=normalized_values))
        else:
            failures.append(Failure(WriteInput(index, traces[index], properties), _missing(schema, ids[index])))
    return write_batch(ctx, schema, inputs, failures, traces, started, success=200)


def _missing(schema: TypeSchema, object_id: str) -> HubSpotError:
    return not_found(
        f"No {schema.object_type.singular} with id {object_id} exists (or it is archived).",
        context={"ids": [object_id]},
    )


def _updatable(ctx: Ctx, schema: TypeSchema, ids: list[str], id_property: str | None, by_email: bool = True) -> dict:
    """Live records to update, locked against concurrent writers."""
    email = schema.properties.get("email")
    if not by_email and id_property == "email" and email is not None and not email.has_unique_value:
        # HubSpot keys a single PATCH and upserts by a contact's email, but not a batch update.
        raise non_unique_property(schema, id_property)
    return resolve_ids(ctx, schema, ids, id_property, archived=False, lock=True)


def archive(ctx: Ctx, schema: TypeSchema, object_id: str) -> None:
    """`DELETE /{objectType}/{objectId}`: 204 whether or not the record existed, as HubSpot answers."""
    _archive_live(ctx, schema, [object_id])


def batch_archive(ctx: Ctx, schema: TypeSchema, body: Any) -> None:
    """`POST .../batch/archive`: archive every named record; unknown ids are passed over (204)."""
    raw_inputs = batch.batch_inputs(body, ctx.limits)
    _archive_live(ctx, schema, [batch.input_id(item, i) for i, item in enumerate(raw_inputs)])


def _archive_live(ctx: Ctx, schema: TypeSchema, ids: list[str]) -> None:
    """Archive the live records among `ids`; archiving again would move an archived record's `archivedAt`."""
    record_ids = {i for i in map(parse_record_id, ids) if i is not None}
    live = ctx.tx.load_objects(schema.object_type.object_type_id, record_ids, lock=True)
    ctx.tx.archive_objects(schema.object_type.object_type_id, sorted(live), now_ms())
