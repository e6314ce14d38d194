"""Associations v4: one record's associations (list, default, labelled, remove) and the batch endpoints.

Associations are stored one row per direction: writing one direction writes its inverse, and removing a
pair removes both. As in HubSpot, every associated pair also carries its default (unlabeled) type, so a
labelled association shows both and removing only its label leaves the records associated.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from localspot.crm import batch
from localspot.crm.association_labels import label_spec
from localspot.crm.associations import (
    AssociationType,
    AssociationTypes,
    InlineAssociation,
    Pair,
    association_record_id,
    missing_target,
    parse_association,
    rows_both_ways,
)
from localspot.crm.changes import check_page_limit, paging_cursor
from localspot.crm.definitions import parse_record_id
from localspot.crm.errors import HubSpotError, validation_error
from localspot.crm.records import Ctx
from localspot.crm.timestamps import now_ms
from localspot.store.base import AssociationRow

PAGE_LIMIT = 500  # HubSpot: "Limit 500 per call", for a record's list and for each batch-read input

# One association to write: (from record id, target and types).
Link = tuple[int, InlineAssociation]


# --- one record --------------------------------------------------------------------------------------


def list_associations(ctx: Ctx, pair: Pair, object_id: str, after: str | None, limit: int) -> dict[str, Any]:
    """`GET .../associations/{toObjectType}`: one entry per associated record, in id order."""
    check_page_limit(limit, PAGE_LIMIT)
    start, from_id = paging_cursor(after), parse_record_id(object_id)
    if from_id is None:
        return {"results": []}
    rows = ctx.tx.load_association_page(pair.from_id, from_id, pair.to_id, start, limit + 1)
    return _page(AssociationTypes(ctx.tx), rows, limit)


def create_labelled(ctx: Ctx, pair: Pair, object_id: str, to_object_id: str, body: Any) -> tuple[int, dict]:
    """`PUT .../associations/{toObjectType}/{toObjectId}` with `[AssociationSpec]`: 201 LabelsBetweenObjectPair."""
    if not isinstance(body, list):
        raise validation_error(
            "The body must be a list of association specs: [{associationCategory, associationTypeId}]."
        )
    types = AssociationTypes(ctx.tx)
    link = _labelled_link(pair, {"from": {"id": object_id}, "to": {"id": to_object_id}, "types": body}, types)
    _write(ctx, pair, types, _raise_first(_existing(ctx, pair, [link])), with_default=True)
    return 201, _labels_between(pair, link)


def create_default(ctx: Ctx, pair: Pair, object_id: str, to_object_id: str) -> tuple[int, dict]:
    """`PUT .../associations/default/{toObjectType}/{toObjectId}`: 200 with both directions written."""
    started, types = now_ms(), AssociationTypes(ctx.tx)
    link = _default_link(pair, {"from": {"id": object_id}, "to": {"id": to_object_id}}, types)
    links = _raise_first(_existing(ctx, pair, [link]))
    _write(ctx, pair, types, links, with_default=False)
    return 200, batch.batch_response(_default_results(pair, links), [], started, now_ms())


def archive_pair(ctx: Ctx, pair: Pair, object_id: str, to_object_id: str) -> None:
    """`DELETE .../associations/{toObjectType}/{toObjectId}`: every type, both directions; 204 even if none."""
    from_id, to_id = parse_record_id(object_id), parse_record_id(to_object_id)
    if from_id is not None and to_id is not None:
        ctx.tx.delete_associations(pair.from_id, pair.to_id, [(from_id, to_id)])


# --- batch -------------------------------------------------------------------------------------------


def batch_create(ctx: Ctx, pair: Pair, body: Any) -> tuple[int, dict]:
    """`batch/create`: 201, or 207 with one error per input that names a missing record or a bad type."""
    links, items, started = _create_batch(ctx, pair, body, labelled=True)
    body = batch.batch_response([_labels_between(pair, link) for link in links], items, started, now_ms())
    return batch.batch_status(201, items), body


def batch_create_default(ctx: Ctx, pair: Pair, body: Any) -> tuple[int, dict]:
    """`batch/associate/default`: always 200 (the SDKs know no 207 here); failed inputs are in `errors`."""
    links, items, started = _create_batch(ctx, pair, body, labelled=False)
    return 200, batch.batch_response(_default_results(pair, links), items, started, now_ms())


def _create_batch(ctx: Ctx, pair: Pair, body: Any, labelled: bool) -> tuple[list[Link], list[dict], int]:
    """Parse, check and write the inputs of a create batch: (links written, error items, start time)."""
    started, types = now_ms(), AssociationTypes(ctx.tx)
    inputs = _inputs(ctx, body, ctx.limits.max_association_writes)
    parse = _labelled_link if labelled else _default_link
    links, errors = _parse_each(inputs, lambda item: parse(pair, item, types))
    links, missing = _existing(ctx, pair, links)
    _write(ctx, pair, types, links, with_default=labelled)
    return links, [e.batch_item({}) for e in errors + missing], started


def batch_read(ctx: Ctx, pair: Pair, body: Any) -> tuple[int, dict]:
    """`batch/read`: 200, or 207 listing the inputs that have no associations to the type."""
    started = now_ms()
    inputs = _inputs(ctx, body, ctx.limits.max_association_reads)
    wanted = [(batch.input_id(item, i), paging_cursor(item.get("after"))) for i, item in enumerate(inputs)]
    ids = {raw: parse_record_id(raw) for raw, _ in wanted}
    by_from: dict[int, list[AssociationRow]] = defaultdict(list)
    for row in ctx.tx.load_associations(pair.from_id, {i for i in ids.values() if i is not None}, pair.to_id):
        by_from[row.from_id].append(row)
    types, results, errors = AssociationTypes(ctx.tx), [], []
    for raw, start in wanted:
        rows = [r for r in by_from.get(ids[raw], []) if r.to_id >= start]
        if not rows:
            errors.append(_no_associations(pair, raw).batch_item({}))
            continue
        page = _page(types, rows, PAGE_LIMIT)
        results.append({"from": {"id": raw}, "to": page.pop("results"), **page})
    return batch.batch_status(200, errors), batch.batch_response(results, errors, started, now_ms())


def batch_archive(ctx: Ctx, pair: Pair, body: Any) -> tuple[int, dict]:
    """`batch/archive`: `{from: {id}, to: [{id}]}` inputs lose every association, both directions."""
    started = now_ms()
    inputs = _inputs(ctx, body, ctx.limits.max_association_archives)
    pairs = [(_from_id(item), to_id) for item in inputs for to_id in _archive_targets(item)]
    ctx.tx.delete_associations(pair.from_id, pair.to_id, pairs)
    return 200, batch.batch_response([], [], started, now_ms())


def batch_archive_labels(ctx: Ctx, pair: Pair, body: Any) -> tuple[int, dict]:
    """`batch/labels/archive`: remove only the named types (and their inverses); the pair stays associated
    by its other types."""
    started, types = now_ms(), AssociationTypes(ctx.tx)
    inputs = _inputs(ctx, body, ctx.limits.max_association_writes)
    by_types: dict[frozenset[int], list[tuple[int, int]]] = defaultdict(list)
    for item in inputs:
        from_id, target = _labelled_link(pair, item, types)
        by_types[_both_directions(target.types)].append((from_id, target.to_id))
    for type_ids, pairs in by_types.items():  # one statement per distinct set of types, not per input
        ctx.tx.delete_associations(pair.from_id, pair.to_id, pairs, type_ids)
    return 200, batch.batch_response([], [], started, now_ms())


BATCH_ACTIONS: dict[str, Callable[[Ctx, Pair, Any], tuple[int, dict]]] = {
    "create": batch_create,
    "associate/default": batch_create_default,
    "read": batch_read,
    "archive": batch_archive,
    "labels/archive": batch_archive_labels,
}
READ_ACTIONS = {"read"}


# --- inputs ------------------------------------------------------------------------------------------


def _inputs(ctx: Ctx, body: Any, maximum: int) -> list[dict[str, Any]]:
    return batch.batch_inputs(body, replace(ctx.limits, max_inputs=maximum))


def _parse_each(inputs: list[dict], parse: Callable[[dict], Link]) -> tuple[list[Link], list[HubSpotError]]:
    links, errors = [], []
    for item in inputs:
        try:
            links.append(parse(item))
        except HubSpotError as error:
            errors.append(error)
    return links, errors


def _labelled_link(pair: Pair, item: dict[str, Any], types: AssociationTypes) -> Link:
    from_id = _from_id(item)
    target = parse_association(pair.from_id, item, types)
    if target.to_object_type_id != pair.to_id:
        ids = [t.association_type_id for t in target.types]
        raise validation_error(
            f"Association types {ids} go from {pair.from_id} to {target.to_object_type_id}, not to {pair.to_id}; "
            f"use a typeId the labels API lists for {pair.from_id} → {pair.to_id}.",
            context={"associationTypeId": [str(i) for i in ids]},
        )
    return from_id, target


def _default_link(pair: Pair, item: dict[str, Any], types: AssociationTypes) -> Link:
    default = types.default_between(pair.from_id, pair.to_id)
    if default is None:
        raise validation_error(
            f"No default association type exists from {pair.from_id} to {pair.to_id}; "
            "define one first (a custom object's schema association).",
        )
    return _from_id(item), InlineAssociation(pair.to_id, _object_id(item.get("to"), "to"), (default,))


def _from_id(item: dict[str, Any]) -> int:
    return _object_id(item.get("from"), "from")


def _object_id(raw: Any, key: str) -> int:
    if not isinstance(raw, dict):
        raise validation_error(f"Each input needs `{key}`: an object with the record's `id`.")
    return association_record_id(raw.get("id"))


def _archive_targets(item: dict[str, Any]) -> list[int]:
    targets = item.get("to")
    if not isinstance(targets, list):
        raise validation_error("Each batch archive input needs `to`: a list of {id} objects.")
    return [_object_id(t, "to") for t in targets]


def _both_directions(types: tuple[AssociationType, ...]) -> frozenset[int]:
    return frozenset(i for t in types for i in (t.association_type_id, t.inverse_type_id) if i is not None)


# --- writes ------------------------------------------------------------------------------------------


def _existing(ctx: Ctx, pair: Pair, links: list[Link]) -> tuple[list[Link], list[HubSpotError]]:
    """Links whose two records exist (and are not archived), and one error per other link."""
    sources = ctx.tx.load_objects(pair.from_id, {from_id for from_id, _ in links})
    targets = ctx.tx.load_objects(pair.to_id, {target.to_id for _, target in links})
    ok, errors = [], []
    for from_id, target in links:
        if from_id not in sources:
            errors.append(_missing_source(pair, from_id))
        elif target.to_id not in targets:
            errors.append(missing_target(target))
        else:
            ok.append((from_id, target))
    return ok, errors


def _raise_first(checked: tuple[list[Link], list[HubSpotError]]) -> list[Link]:
    links, errors = checked
    if errors:
        raise errors[0]
    return links


def _write(ctx: Ctx, pair: Pair, types: AssociationTypes, links: list[Link], with_default: bool) -> None:
    default = types.default_between(pair.from_id, pair.to_id) if with_default else None
    rows = []
    for from_id, target in links:
        if default is not None and default not in target.types:
            target = replace(target, types=(*target.types, default))
        rows.extend(rows_both_ways(pair.from_id, from_id, target))
    ctx.tx.insert_associations(rows, now_ms())


# --- public forms ------------------------------------------------------------------------------------


def _page(types: AssociationTypes, rows: list[AssociationRow], limit: int) -> dict[str, Any]:
    """`MultiAssociatedObjectWithLabel` per target record, `limit` of them, and where the next page starts."""
    grouped: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        found = types.find(row.from_object_type_id, row.association_type_id)
        spec = label_spec(found) if found else {"category": row.association_category, "typeId": row.association_type_id}
        grouped.setdefault(row.to_id, []).append(spec)
    targets = [{"toObjectId": to_id, "associationTypes": specs} for to_id, specs in grouped.items()]
    out: dict[str, Any] = {"results": targets[:limit]}
    if len(targets) > limit:
        cursor = str(targets[limit]["toObjectId"])
        out["paging"] = {"next": {"after": cursor, "link": f"?after={cursor}"}}
    return out


def _labels_between(pair: Pair, link: Link) -> dict[str, Any]:
    from_id, target = link
    return {
        "fromObjectTypeId": pair.from_id,
        "fromObjectId": from_id,
        "toObjectTypeId": pair.to_id,
        "toObjectId": target.to_id,
        "labels": [t.display_label for t in target.types if t.display_label is not None],
    }


def _default_results(pair: Pair, links: list[Link]) -> list[dict[str, Any]]:
    """`PublicDefaultAssociation` per direction written (HubSpot lists the inverse too)."""
    out = []
    for row in (r for from_id, target in links for r in rows_both_ways(pair.from_id, from_id, target)):
        spec = {"associationCategory": row.association_category, "associationTypeId": row.association_type_id}
        out.append({"from": {"id": str(row.from_id)}, "to": {"id": str(row.to_id)}, "associationSpec": spec})
    return out


def _missing_source(pair: Pair, from_id: int) -> HubSpotError:
    return validation_error(
        f"One or more associations are invalid: {pair.from_id} record {from_id} does not exist.",
        context={"fromObjectId": [str(from_id)], "fromObjectTypeId": [pair.from_id]},
    )


def _no_associations(pair: Pair, raw_id: str) -> HubSpotError:
    return HubSpotError(
        f"No {pair.to_type.singular} is associated with {pair.from_type.singular} {raw_id}.",
        status=404,
        category="OBJECT_NOT_FOUND",
        context={"fromObjectId": [raw_id]},
        sub_category="crm.associations.NO_ASSOCIATIONS_FOUND",
    )
