"""The write pipeline every record write goes through: validate all inputs, prepare the valid ones' rows,
then persist them.

Create, batch create and batch upsert differ only in how they build `WriteInput`s (new record, or an
update of a matched one). Validation reads what it needs in a bounded number of queries (one per
unique property and per association target type), then `persist` writes everything with executemany.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from localspot.crm.associations import InlineAssociation, missing_target, rows_both_ways
from localspot.crm.definitions import TypeSchema
from localspot.crm.errors import HubSpotError, conflict, validation_error
from localspot.crm.public import HISTORY_SOURCE
from localspot.crm.values import (
    Normalized,
    PropertyError,
    missing_required,
    normalize_properties,
    property_values_error,
)
from localspot.store.base import HistoryEntry, HistoryRow, StoredObject, WriteConflict


@dataclass
class WriteInput:
    index: int
    trace_id: str | None
    raw_properties: dict[str, Any]
    existing: StoredObject | None = None  # None: this input creates a record
    forced: dict[str, str] = field(default_factory=dict)  # e.g. the upsert key stored on a new record
    associations: list[InlineAssociation] = field(default_factory=list)
    # `raw_properties` normalized before the transaction, if they could be, with `forced` applied. Shared by
    # the attempts of a write (and `matched` copies): whoever reads them must not change them.
    normalized: Normalized | None = None

    def matched(self, existing: StoredObject | None) -> WriteInput:
        """This input as an update of `existing` (None: a create). Not `dataclasses.replace`, which
        inspects the fields on every call: a hundred calls a batch, under the writer lock."""
        return WriteInput(
            index=self.index,
            trace_id=self.trace_id,
            raw_properties=self.raw_properties,
            existing=existing,
            forced=self.forced,
            associations=self.associations,
            normalized=self.normalized,
        )


@dataclass
class Failure:
    input: WriteInput
    error: HubSpotError
    problems: list[PropertyError] | None = None


@dataclass
class Planned:
    input: WriteInput
    changes: dict[str, str | None]
    properties: dict[str, str] | None = None  # the record's values as written (`prepare`)
    record: StoredObject | None = None  # the record as written (`persist`)
    new: bool = field(init=False)  # creates a record; asked several times per input, so kept

    def __post_init__(self) -> None:
        self.new = self.input.existing is None


# The unique values each input sets that its record does not hold yet, per property (`_unique_claims`).
Claims = dict[str, list[tuple[Planned, str]]]


@dataclass
class WriteOutcome:
    written: list[Planned]
    failures: list[Failure]
    # The written inputs' unique claims as validation found them, which spares `prepare` finding them again
    # (None: some planned input was refused after they were found, and `prepare` finds them for the rest).
    unique_claims: Claims | None = None


def validate(tx: Any, schema: TypeSchema, inputs: list[WriteInput], portal_id: int) -> WriteOutcome:
    """Split inputs into writes that may go ahead and failures, each with HubSpot's error."""
    planned, failures = [], []
    for item in inputs:
        if item.normalized is not None:
            changes, problems = item.normalized  # `forced` in; a retry reuses them, so neither is changed
        else:
            current = item.existing.properties if item.existing else None
            changes, problems = normalize_properties(schema, item.raw_properties, current)
            changes.update(item.forced)
        if item.existing is None:
            # A required property sent with a bad value is reported once, for its value, not also as missing.
            reported = {p.name for p in problems}
            absent = [n for n in schema.object_type.required_properties if changes.get(n) is None and n not in reported]
            if absent:
                problems = problems + missing_required(absent)
        if problems:
            failures.append(Failure(item, property_values_error(problems, portal_id), problems))
        else:
            planned.append(Planned(item, changes))
    claims = _unique_claims(schema, planned)
    written = _check_association_targets(tx, _check_unique_values(tx, schema, planned, claims, failures), failures)
    failures.sort(key=lambda f: f.input.index)
    return WriteOutcome(written, failures, claims if len(written) == len(planned) else None)


def whole_batch_error(failures: list[Failure], portal_id: int) -> HubSpotError:
    """Without trace ids a batch fails whole: every bad value at once, else the first error."""
    if all(f.problems for f in failures):
        return property_values_error([p for f in failures for p in f.problems or ()], portal_id)
    return next(f.error for f in failures if not f.problems)


def _unique_claims(schema: TypeSchema, planned: list[Planned]) -> Claims:
    """The unique values each input sets that its record does not hold yet, per property."""
    claims: Claims = defaultdict(list)
    unique = schema.unique_order
    for p in planned:
        old = p.input.existing.properties if p.input.existing else {}
        changes = p.changes
        for name in unique:  # a few unique names, many changed ones: `intersection` would loop over these
            if name in changes:
                value = changes[name]
                if value is not None and value != old.get(name):
                    claims[name].append((p, value))
    return claims


def _check_unique_values(
    tx: Any, schema: TypeSchema, planned: list[Planned], all_claims: Claims, failures: list[Failure]
) -> list[Planned]:
    bad: dict[int, HubSpotError] = {}
    for name, claims in all_claims.items():
        asked = [v for p, v in claims if not _key_found_free(p, name, v)]
        holders = tx.find_unique(schema.object_type.object_type_id, name, asked)
        seen: set[str] = set()
        for p, value in claims:
            own_id = p.input.existing.id if p.input.existing else None
            holder = holders.get(value)
            if holder is not None and holder != own_id:
                if p.input.forced.get(name) == value:
                    # The upsert key was free when matched and taken since: a concurrent batch won the
                    # race (seen here only when another input also sets the value, which put it in this
                    # lookup; otherwise the claim's INSERT fails: _key_found_free). Run again, and this
                    # input becomes an update of that record.
                    raise WriteConflict(f"{name}={value} was created concurrently")
                bad.setdefault(p.input.index, _taken(schema, name, value, holder))
            elif value in seen:
                bad.setdefault(p.input.index, _repeated_in_batch(name, value))
            seen.add(value)
    failures += [Failure(p.input, bad[p.input.index]) for p in planned if p.input.index in bad]
    return [p for p in planned if p.input.index not in bad]


def _key_found_free(p: Planned, name: str, value: str) -> bool:
    """A new record's upsert key: this transaction looked it up when matching and no record held it. Its
    claim is not looked up again; a racing batch that took it since fails the claim's INSERT, which
    runs the batch again (WriteConflict), as a holder found here would."""
    return p.input.existing is None and p.input.forced.get(name) == value


def _taken(schema: TypeSchema, name: str, value: str, holder: int) -> HubSpotError:
    if schema.object_type.object_type_id == "0-1" and name == "email":
        return conflict(f"Contact already exists. Existing ID: {holder}")
    label = schema.object_type.labels.get("singular", schema.object_type.singular)
    return conflict(
        f'A {label} with {name} "{value}" already exists. Existing ID: {holder}',
        context={"propertyName": [name], "id": [str(holder)]},
    )


def _repeated_in_batch(name: str, value: str) -> HubSpotError:
    return validation_error(
        f'Unique property {name} is set to "{value}" on more than one input of this batch; unique values must differ.',
        context={"propertyName": [name]},
    )


def _check_association_targets(tx: Any, planned: list[Planned], failures: list[Failure]) -> list[Planned]:
    wanted: dict[str, set[int]] = defaultdict(set)
    for p in planned:
        for a in p.input.associations:
            wanted[a.to_object_type_id].add(a.to_id)
    if not wanted:  # no input associates (every upsert): nothing to look up, and no input to check
        return planned
    existing = {type_id: set(tx.load_objects(type_id, ids)) for type_id, ids in wanted.items()}
    ok = []
    for p in planned:
        missing = [a for a in p.input.associations if a.to_id not in existing[a.to_object_type_id]]
        if missing:
            failures.append(Failure(p.input, missing_target(missing[0])))
        else:
            ok.append(p)
    return ok


@dataclass
class Prepared:
    """A validated batch's writes, ready: the records' values (`Planned.properties`), their history
    entries' changes and the unique values to release and claim. `persist` takes the ids of new records and
    history rows from the store (under SQLite's writer lock), makes the records and history rows, and
    writes them."""

    outcome: WriteOutcome
    # The time `persist` stamps on the records and history entries it writes. A batch prepared ahead of its
    # transaction gets the transaction's own here.
    now: int
    releases: list[tuple[str, str]]  # (property, value) no longer held
    claims: list[tuple[str, str, Planned]]  # (property, value, by whom)
    history: list[dict[str, str | None]]  # each written record's history entry's changes, in `outcome.written`'s order


def prepare(schema: TypeSchema, outcome: WriteOutcome, now: int) -> Prepared:
    """The records' values as written, their history entries' changes and unique value changes."""
    for p in outcome.written:
        p.properties = _without_empty(p.changes if p.new else {**p.input.existing.properties, **p.changes})
    releases, claims = _unique_changes(schema, outcome.written, outcome.unique_claims)
    return Prepared(outcome, now, releases, claims, [_history_changes(p) for p in outcome.written])


def persist(tx: Any, schema: TypeSchema, prepared: Prepared) -> None:
    """Write a prepared batch: a fixed number of statements whatever the batch size."""
    type_id, now = schema.object_type.object_type_id, prepared.now
    planned = prepared.outcome.written
    creates = [p for p in planned if p.new]
    record_ids, history_ids = tx.allocate(len(creates), len(prepared.history))
    history = _chained(planned, prepared.history, record_ids, history_ids, now)
    tx.release_unique(type_id, prepared.releases)
    tx.insert_objects(type_id, [p.record for p in creates])
    tx.update_objects(type_id, [p.record for p in planned if not p.new])
    tx.claim_unique(type_id, [(name, value, p.record.id) for name, value, p in prepared.claims])
    tx.append_history(type_id, history)
    rows = [r for p in creates for a in p.input.associations for r in rows_both_ways(type_id, p.record.id, a)]
    tx.insert_associations(rows, now)


def _chained(
    planned: list[Planned], history: list[dict[str, str | None]], record_ids: list[int], ids: list[int], now: int
) -> list[HistoryRow]:
    """The records as written (`Planned.record`, modified `now`; new ones take `record_ids` in order) and
    their history rows: each record's entry (its `history` changes), stamped `now` (the transaction's time,
    also when prepared ahead of it: crm.ahead), as its new newest row, which names the record's previous
    head; the record names it."""
    rows: list[HistoryRow] = []
    new_ids = iter(record_ids)
    for p, changes, history_id in zip(planned, history, ids, strict=True):
        old = p.input.existing
        if old is None:
            p.record = StoredObject(next(new_ids), p.properties, now, now, False, None, history_id)
        else:
            p.record = StoredObject(
                old.id, p.properties, old.created_at, now, old.archived, old.archived_at, history_id
            )
        previous = None if old is None else old.history_head
        rows.append((history_id, p.record.id, previous, HistoryEntry(now, HISTORY_SOURCE, None, changes)))
    return rows


def _without_empty(values: dict[str, str | None]) -> dict[str, str]:
    """`values` without the cleared ones (None): `values` itself when none is, as most inputs clear nothing
    (the scan runs in C; the filtering copy, in Python, was a few percent of a batch upsert). The result
    may be the caller's dict, so neither may be changed afterwards (none is: they are written and read)."""
    if None not in values.values():
        return values
    return {k: v for k, v in values.items() if v is not None}


def _unique_changes(schema: TypeSchema, planned: list[Planned], found: Claims | None) -> tuple[list, list]:
    releases, claims = [], []
    for name, items in (found if found is not None else _unique_claims(schema, planned)).items():
        claims += [(name, value, p) for p, value in items]
    unique = schema.unique_order
    for p in planned:
        if p.input.existing is None:
            continue
        for name in unique:
            if name in p.changes:
                old = p.input.existing.properties.get(name)
                if old is not None and p.changes[name] != old:
                    releases.append((name, old))
    return releases, claims


def _history_changes(p: Planned) -> dict[str, str | None]:
    """What a write changes, for its history entry: a new record's values (the dict `Planned.properties`
    itself, often the input's values normalized ahead: none of them is changed once prepared), or the
    values an update sets that differ from the record's."""
    if p.new:
        return p.properties
    before = p.input.existing.properties
    return {k: v for k, v in p.changes.items() if before.get(k) != v}
