"""Record operations: batch upsert, batch create, batch read, create, read.

Each function runs inside one store transaction handed in by the service, and returns
`(http_status, body)`: the domain knows HubSpot's success codes (201 vs 200 vs 207), the HTTP layer
only writes them out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from localspot.crm import batch
from localspot.crm.ahead import Ahead, PlannedAhead
from localspot.crm.associations import AssociationTypes, parse_inline
from localspot.crm.catalog import Catalog
from localspot.crm.definitions import MAX_UNIQUE_VALUE_LENGTH, TypeSchema, parse_record_id
from localspot.crm.errors import HubSpotError, not_found, object_not_found, validation_error
from localspot.crm.public import property_history, public_object, selected_properties
from localspot.crm.timestamps import now_ms
from localspot.crm.values import (
    InvalidValue,
    Normalized,
    normalize,
    normalize_ahead,
    stored_as_sent,
    verbatim_properties,
)
from localspot.crm.writes import (
    Failure,
    Planned,
    Prepared,
    WriteInput,
    WriteOutcome,
    persist,
    prepare,
    validate,
    whole_batch_error,
)
from localspot.store.base import StoredObject


@dataclass(frozen=True)
class ReadOptions:
    """What a read returns: `properties`, `propertiesWithHistory`, `associations`, `archived`."""

    properties: tuple[str, ...] = ()
    properties_with_history: tuple[str, ...] = ()
    associations: tuple[str, ...] = ()
    archived: bool = False


@dataclass
class Ctx:
    tx: Any
    catalog: Catalog
    limits: batch.BatchLimits

    @property
    def portal_id(self) -> int:
        return self.catalog.portal_id


@dataclass(frozen=True)
class AfterCommit:
    """A write's answer, built by `CrmService` once the transaction has committed.

    Rendering written records needs nothing from the database, and on SQLite the transaction holds the
    one writer lock every worker queues on: answers built outside it let another worker write meanwhile."""

    answer: Callable[[], tuple[int, dict[str, Any]]]


# --- writes ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpsertBatch:
    """A batch upsert's body parsed, keyed and its values normalized: all it needs no database for."""

    traces: list[str | None]
    keyed: list[tuple[str, str, str]]  # (idProperty, normalized key, id as sent) of each input
    inputs: list[WriteInput]  # `existing` not yet matched


def parse_upsert(schema: TypeSchema, body: Any, limits: batch.BatchLimits) -> UpsertBatch:
    raw_inputs = batch.batch_inputs(body, limits)
    traces = batch.trace_ids(raw_inputs)
    keyed = [_upsert_key(schema, item, index) for index, item in enumerate(raw_inputs)]
    batch.reject_duplicate_ids([(p, key) for p, key, _ in keyed], [raw_id for _, _, raw_id in keyed])
    inputs = []
    for index, (id_property, key, raw_id) in enumerate(keyed):
        # The key is stored as the value of its idProperty: validated with the input's other values.
        props = {**batch.input_properties(raw_inputs[index], index), id_property: raw_id}
        normalized = normalize_ahead(schema, props)
        if normalized is not None:
            normalized[0][id_property] = key  # `forced`, applied once here rather than on each attempt
        inputs.append(WriteInput(index, traces[index], props, forced={id_property: key}, normalized=normalized))
    return UpsertBatch(traces, keyed, inputs)


def batch_upsert(
    ctx: Ctx, schema: TypeSchema, parsed: Ahead[UpsertBatch], plan: PlannedAhead[Prepared] | None
) -> AfterCommit:
    # An upsert that writes every input creates a record for each key it found free, and so claims it.
    prepared = plan.take(ctx.tx, schema, not plan.value.outcome.failures) if plan is not None else None
    if prepared is not None:
        # This transaction's time, which `persist` stamps on the rows it writes: timestamps follow commit order.
        prepared.now = now_ms()
        return _commit(ctx, schema, prepared, plan.started, success=200)
    started = now_ms()
    return _commit(ctx, schema, upsert_writes(ctx, schema, parsed), started, success=200)


def upsert_writes(ctx: Ctx, schema: TypeSchema, parsed: Ahead[UpsertBatch]) -> Prepared:
    """A batch upsert validated and its writes prepared: inputs matched to records by key, then checked
    as every write is."""
    upsert = parsed.result(schema)
    matches = _match_upsert_keys(ctx, schema, upsert.keyed)
    # Two keys may still name one record (e.g. two unique properties of it): HubSpot rejects that too.
    sent_ids = [raw_id for _, _, raw_id in upsert.keyed]
    batch.reject_duplicate_ids([m.id if m else ("new", i) for i, m in enumerate(matches)], sent_ids)
    # An input whose key no record holds is already a create (`existing` None): kept as parsed.
    inputs = [
        item if match is None else item.matched(match) for item, match in zip(upsert.inputs, matches, strict=True)
    ]
    return validated_writes(ctx, schema, inputs, [], upsert.traces)


NormalizedInputs = dict[int, Normalized | None]  # by input index


def normalized_inputs(schema: TypeSchema, body: Any, limits: batch.BatchLimits) -> NormalizedInputs:
    """The values of a batch create's or update's inputs, normalized by input index."""
    raw_inputs = batch.batch_inputs(body, limits)
    return {
        index: normalize_ahead(schema, item["properties"])
        for index, item in enumerate(raw_inputs)
        if isinstance(item.get("properties"), dict)
    }


def batch_create(ctx: Ctx, schema: TypeSchema, body: Any, normalized: Ahead[NormalizedInputs]) -> AfterCommit:
    started = now_ms()
    raw_inputs = batch.batch_inputs(body, ctx.limits)
    traces = batch.trace_ids(raw_inputs)
    ahead = normalized.result(schema)
    inputs, failures = [], []
    types = AssociationTypes(ctx.tx)  # one per batch: the portal's labels are read at most once
    for index, item in enumerate(raw_inputs):
        try:
            inputs.append(_create_input(schema, item, index, traces[index], types, ahead.get(index)))
        except HubSpotError as error:
            failures.append(Failure(WriteInput(index, traces[index], {}), error))
    return write_batch(ctx, schema, inputs, failures, traces, started, success=201)


def create(ctx: Ctx, schema: TypeSchema, body: Any) -> tuple[int, dict[str, Any]]:
    item = _create_input(schema, batch.require_object(body), 0, None, AssociationTypes(ctx.tx))
    return 201, write_one(ctx, schema, item)


def write_one(ctx: Ctx, schema: TypeSchema, item: WriteInput) -> dict[str, Any]:
    """A single-record write (create, PATCH): any bad value fails it whole; answers the public form."""
    outcome = validate(ctx.tx, schema, [item], ctx.portal_id)
    if outcome.failures:
        raise whole_batch_error(outcome.failures, ctx.portal_id)
    persist(ctx.tx, schema, prepare(schema, outcome, now_ms()))
    return _written_public(ctx.portal_id, schema, outcome.written[0])


def _create_input(
    schema: TypeSchema,
    item: dict[str, Any],
    index: int,
    trace: str | None,
    types: AssociationTypes,
    normalized: Normalized | None = None,
) -> WriteInput:
    props = batch.input_properties(item, index)
    associations = parse_inline(schema.object_type.object_type_id, item.get("associations"), types)
    return WriteInput(index, trace, props, associations=associations, normalized=normalized)


def write_batch(
    ctx: Ctx,
    schema: TypeSchema,
    inputs: list[WriteInput],
    failures: list[Failure],
    traces: list[str | None],
    started: int,
    success: int,
) -> AfterCommit:
    """A batch create or update: all or nothing, or 207 when every input is traced."""
    return _commit(ctx, schema, validated_writes(ctx, schema, inputs, failures, traces), started, success)


def validated_writes(
    ctx: Ctx, schema: TypeSchema, inputs: list[WriteInput], failures: list[Failure], traces: list[str | None]
) -> Prepared:
    """The inputs validated, with `failures` found before, and the valid ones' writes prepared. A failure
    fails the batch whole unless every input is traced (207)."""
    outcome = validate(ctx.tx, schema, inputs, ctx.portal_id)
    failures = sorted(failures + outcome.failures, key=lambda f: f.input.index)
    if failures and not batch.multi_status_enabled(traces):
        raise whole_batch_error(failures, ctx.portal_id)
    return prepare(schema, WriteOutcome(outcome.written, failures, outcome.unique_claims), now_ms())


def _commit(ctx: Ctx, schema: TypeSchema, prepared: Prepared, started: int, success: int) -> AfterCommit:
    """Persist a batch write; its answer is built after the commit."""
    persist(ctx.tx, schema, prepared)
    portal_id, outcome = ctx.portal_id, prepared.outcome

    def answer() -> tuple[int, dict[str, Any]]:
        results = [_written_public(portal_id, schema, p) for p in outcome.written]
        errors = [batch.item_error(f.error, f.input.trace_id) for f in outcome.failures]
        return batch.batch_status(success, errors), batch.batch_response(results, errors, started, now_ms())

    return AfterCommit(answer)


def _written_public(portal_id: int, schema: TypeSchema, p: Planned) -> dict[str, Any]:
    new = p.new if p.input.forced else None  # upserts say whether they created or updated
    return public_object(schema, p.record, None, portal_id, objectWriteTraceId=p.input.trace_id, new=new)


def _upsert_key(schema: TypeSchema, item: dict[str, Any], index: int) -> tuple[str, str, str]:
    """(idProperty, normalized key, id as sent) of one upsert input."""
    raw_id = batch.input_id(item, index)
    id_property = item.get("idProperty")
    if not isinstance(id_property, str) or not id_property:
        raise validation_error(
            f"inputs[{index}].idProperty is required for batch upsert: name a property with unique values "
            "(hasUniqueValue), or email for contacts.",
            context={"idProperty": ["missing"]},
        )
    prop = schema.identity_property(id_property)
    if prop is None:
        raise non_unique_property(schema, id_property)
    # A bad key value is kept as sent: validate() reports it with the input's other problems.
    return id_property, _lookup_key(schema, prop, raw_id), raw_id


def non_unique_property(schema: TypeSchema, name: str) -> HubSpotError:
    return validation_error(
        f"Unable to perform update/upsert by non-unique {schema.object_type.object_type_id} property {name}",
        context={"idProperty": [name]},
    )


def _match_upsert_keys(ctx: Ctx, schema: TypeSchema, keyed: list[tuple[str, str, str]]) -> list[StoredObject | None]:
    # A plan's write checks this lookup by the versions of the records found, when it claims every key
    # found free (store.records `reads_unchanged`): no other lookup of a plan may be a locked live `find_held`.
    keys = [(p, k) for p, k, _ in keyed]
    held = ctx.tx.find_held(schema.object_type.object_type_id, [(p, k) for p, k in keys if is_storable(k)], lock=True)
    return [held.get(key) for key in keys]


# --- reads -----------------------------------------------------------------------------------------


def batch_read(ctx: Ctx, schema: TypeSchema, body: Any, archived: bool) -> tuple[int, dict[str, Any]]:
    started = now_ms()
    body = batch.require_object(body)
    raw_inputs = batch.batch_inputs(body, ctx.limits)
    options = ReadOptions(
        properties=tuple(name_list(body, "properties")),
        properties_with_history=tuple(name_list(body, "propertiesWithHistory")),
        archived=archived,
    )
    if options.properties_with_history and len(raw_inputs) > ctx.limits.max_history_inputs:
        raise validation_error(
            "The maximum number of inputs supported in a batch request for property histories is "
            f"{ctx.limits.max_history_inputs}. Please reduce the number of items and try again"
        )
    wanted = [batch.input_id(item, i) for i, item in enumerate(raw_inputs)]
    found = resolve_ids(ctx, schema, wanted, body.get("idProperty"), archived)
    records = [found[w] for w in dict.fromkeys(wanted) if w in found]
    results = public_records(ctx, schema, records, options)
    missing = [w for w in dict.fromkeys(wanted) if w not in found]
    errors = [_not_found_item(schema, missing)] if missing else []
    return batch.batch_status(200, errors), batch.batch_response(results, errors, started, now_ms())


def name_list(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise validation_error(f"`{key}` must be a list of property names.")
    return value


def _not_found_item(schema: TypeSchema, missing: list[str]) -> dict[str, Any]:
    name = schema.object_type.singular.upper()
    message = f"Could not get some {name} objects, they may be deleted or not exist. Check that ids are valid."
    return not_found(message, context={"ids": missing}).batch_item({})


def check_id_property(id_property: Any) -> str | None:
    """`idProperty` names a property (a string), or is absent."""
    if id_property is None or id_property == "":
        return None
    if not isinstance(id_property, str):
        raise validation_error(f"idProperty must be a property name (a string), not {id_property!r}.")
    return id_property


def resolve_ids(
    ctx: Ctx, schema: TypeSchema, wanted: list[str], id_property: Any, archived: bool, lock: bool = False
) -> dict[str, StoredObject]:
    """Map each requested id (record id, or value of `idProperty`) to its record, where one exists."""
    id_property = check_id_property(id_property)
    type_id = schema.object_type.object_type_id
    if not id_property or id_property == "hs_object_id":
        numeric = {w: i for w in wanted if (i := parse_record_id(w)) is not None}
        records = ctx.tx.load_objects(type_id, set(numeric.values()), archived, lock)
        if schema.object_type.mergeable and archived is False:
            numeric = _follow_merges(ctx, type_id, numeric, records, lock)
        return {w: records[i] for w, i in numeric.items() if i in records}
    prop = schema.identity_property(id_property)
    if prop is None:
        raise non_unique_property(schema, id_property)
    keys = {w: (id_property, _lookup_key(schema, prop, w)) for w in wanted}
    held = ctx.tx.find_held(type_id, [key for key in keys.values() if is_storable(key[1])], archived, lock)
    return {w: held[key] for w, key in keys.items() if key in held}


def _follow_merges(ctx: Ctx, type_id: str, numeric: dict[str, int], records: dict, lock: bool) -> dict[str, int]:
    """Ids not found live may have been merged away: they name the surviving record now (one lookup,
    and one load of the survivors, which are added to `records`)."""
    survivors = ctx.tx.find_merged(type_id, {i for i in numeric.values() if i not in records})
    if survivors:
        records.update(ctx.tx.load_objects(type_id, set(survivors.values()), False, lock))
    return {w: survivors.get(i, i) for w, i in numeric.items()}


def storable(keys: Iterable[str]) -> list[str]:
    return [k for k in keys if is_storable(k)]


def is_storable(key: str) -> bool:
    """Whether a record could hold this key: values with a NUL or over the unique-value length are never
    stored, and some databases refuse them even in a query (PostgreSQL: NUL; varchar overflow)."""
    return "\x00" not in key and len(key) <= MAX_UNIQUE_VALUE_LENGTH


def _lookup_key(schema: TypeSchema, prop: Any, value: str) -> str:
    """The stored form of a key sent for `prop`, which a record holding it holds; a key that is not a
    valid value is looked up as sent (and found by no record)."""
    rules = verbatim_properties(schema)
    if prop.name in rules and stored_as_sent(rules[prop.name], value):
        return value  # most keys: text stored as sent, without `normalize`'s call
    try:
        return normalize(prop, value, None) or value
    except InvalidValue:
        return value


def read(ctx: Ctx, schema: TypeSchema, object_id: str, id_property: str | None, options: ReadOptions) -> dict:
    found = resolve_ids(ctx, schema, [object_id], id_property, options.archived)
    if object_id not in found:
        raise object_not_found(object_id)
    return public_records(ctx, schema, [found[object_id]], options)[0]


def public_records(
    ctx: Ctx, schema: TypeSchema, records: list[StoredObject], options: ReadOptions
) -> list[dict[str, Any]]:
    """Public forms of several records, with history and associations loaded in one query each."""
    names = options.properties or schema.object_type.default_properties
    ids = [r.id for r in records]
    history = ctx.tx.load_history(schema.object_type.object_type_id, ids) if options.properties_with_history else {}
    associations = _associations(ctx, schema, ids, options.associations)
    out = []
    for r in records:
        extra: dict[str, Any] = {}
        if options.properties_with_history:
            extra["propertiesWithHistory"] = property_history(
                schema, r, history.get(r.id, []), options.properties_with_history
            )
        if associations.get(r.id):
            extra["associations"] = associations[r.id]
        out.append(public_object(schema, r, selected_properties(schema, r, names), ctx.portal_id, **extra))
    return out


def _associations(ctx: Ctx, schema: TypeSchema, ids: list[int], names: tuple[str, ...]) -> dict[int, dict]:
    """`associations` per record: `{plural type name: {"results": [{id, type}]}}`; unknown types ignored."""
    out: dict[int, dict[str, Any]] = {}
    types = AssociationTypes(ctx.tx)
    for name in dict.fromkeys(names):
        target = ctx.catalog.by_name.get(name.lower())
        if target is None or not ids:
            continue
        rows = ctx.tx.load_associations(schema.object_type.object_type_id, ids, target.object_type_id)
        for row in rows:
            results = out.setdefault(row.from_id, {}).setdefault(target.name, {"results": []})["results"]
            kind = types.v3_type(row.from_object_type_id, row.association_type_id)
            results.append({"id": str(row.to_id), "type": kind})
    return out
