"""The labels API: the association types between two object types, and a portal's own labels.

`GET` lists HubSpot's types for the pair plus the portal's. `POST` creates a USER_DEFINED label: a paired
one (`inverseLabel` given) gets one type id per direction, an unpaired one a single id used both ways.
`PUT` renames a label, `DELETE` removes it, and records it linked stay associated by the pair's default
(unlabeled) type, as records keep their association when a label is deleted in HubSpot.
"""

from __future__ import annotations

from typing import Any

from localspot.crm.associations import AssociationType, AssociationTypes, Pair, hubspot_defined, portal_type
from localspot.crm.batch import require_object
from localspot.crm.definitions import parse_record_id
from localspot.crm.errors import HubSpotError, not_found, validation_error
from localspot.crm.records import Ctx
from localspot.crm.timestamps import now_ms
from localspot.store.base import AssociationLabelRow, AssociationRow

USER_DEFINED = "USER_DEFINED"
MAX_LABEL_LENGTH = 200  # the column size; HubSpot documents no limit


def label_spec(t: AssociationType, with_object_types: bool = False) -> dict[str, Any]:
    """HubSpot's `AssociationSpecWithLabel`; the labels API also names the direction's object types."""
    spec: dict[str, Any] = {"category": t.category, "typeId": t.association_type_id, "label": t.display_label}
    if with_object_types:
        spec.update(fromObjectTypeId=t.from_object_type_id, toObjectTypeId=t.to_object_type_id)
    return spec


def list_labels(ctx: Ctx, pair: Pair) -> dict[str, Any]:
    types = AssociationTypes(ctx.tx).between(pair.from_id, pair.to_id)
    return {"results": [label_spec(t, True) for t in types]}


def create_label(ctx: Ctx, pair: Pair, body: Any) -> dict[str, Any]:
    body = require_object(body)
    label, name = _text(body, "label"), _text(body, "name")
    inverse = _text(body, "inverseLabel") if body.get("inverseLabel") is not None else None
    taken = [t for t in AssociationTypes(ctx.tx).between(pair.from_id, pair.to_id) if t.label == name]
    if taken:
        raise HubSpotError(
            f"An association label named '{name}' already exists from {pair.from_id} to {pair.to_id} "
            f"(typeId {taken[0].association_type_id}); choose another name.",
            status=409,
            category="OBJECT_ALREADY_EXISTS",
        )
    ctx.tx.bump_schema_version()  # holds the portal row: concurrent creations cannot take one id twice
    rows = _label_rows(pair, ctx.tx.next_association_type_id(), name, label, inverse)
    ctx.tx.insert_association_types([r._asdict() for r in rows], now_ms())
    shown = rows if inverse is not None else rows[:1]  # an unpaired label has one id, shown once
    return {"results": [label_spec(portal_type(r), True) for r in shown]}


def _label_rows(pair: Pair, first: int, name: str, label: str, inverse: str | None) -> list[AssociationLabelRow]:
    if inverse is not None:
        return [
            AssociationLabelRow(pair.from_id, pair.to_id, first, USER_DEFINED, name, label, first + 1),
            AssociationLabelRow(pair.to_id, pair.from_id, first + 1, USER_DEFINED, name, inverse, first),
        ]
    rows = [AssociationLabelRow(pair.from_id, pair.to_id, first, USER_DEFINED, name, label, first)]
    if pair.to_id != pair.from_id:
        rows.append(AssociationLabelRow(pair.to_id, pair.from_id, first, USER_DEFINED, name, label, first))
    return rows


def update_label(ctx: Ctx, pair: Pair, body: Any) -> None:
    body = require_object(body)
    found = _own_label(AssociationTypes(ctx.tx), pair, _type_id(body.get("associationTypeId")))
    labels = [(found.association_type_id, _text(body, "label"))]
    if body.get("inverseLabel") is not None:
        if found.inverse_type_id in (None, found.association_type_id):
            raise validation_error(
                f"Association label {found.association_type_id} is not paired, so it has no inverseLabel; "
                "send only `label`.",
                context={"associationTypeId": [str(found.association_type_id)]},
            )
        labels.append((found.inverse_type_id, _text(body, "inverseLabel")))
    ctx.tx.relabel_association_types(labels)


def delete_label(ctx: Ctx, pair: Pair, raw_type_id: str) -> None:
    types = AssociationTypes(ctx.tx)
    found = _own_label(types, pair, _type_id(raw_type_id))
    doomed = {found.association_type_id, found.inverse_type_id} - {None}
    kept = [_unlabeled(types, row) for row in ctx.tx.load_associations_of_types(doomed)]
    ctx.tx.insert_associations([row for row in kept if row is not None], now_ms())
    ctx.tx.delete_association_types(sorted(doomed))


def _unlabeled(types: AssociationTypes, row: AssociationRow) -> AssociationRow | None:
    default = types.default_between(row.from_object_type_id, row.to_object_type_id)
    if default is None:
        return None
    return row._replace(association_category=default.category, association_type_id=default.association_type_id)


def _own_label(types: AssociationTypes, pair: Pair, type_id: int) -> AssociationType:
    """A portal-defined type of the pair, in either direction (a paired label's inverse id works too)."""
    if type_id in hubspot_defined():
        raise validation_error(
            f"Association type {type_id} is HubSpot-defined; only USER_DEFINED labels can be changed or deleted.",
            context={"associationTypeId": [str(type_id)]},
        )
    directions = types.between(pair.from_id, pair.to_id) + types.between(pair.to_id, pair.from_id)
    found = next((t for t in directions if t.association_type_id == type_id), None)
    if found is None:
        raise not_found(
            f"No association label with typeId {type_id} exists between {pair.from_id} and {pair.to_id}.",
            context={"associationTypeId": [str(type_id)]},
        )
    return found


def _type_id(raw: Any) -> int:
    type_id = parse_record_id(str(raw)) if isinstance(raw, int | str) and not isinstance(raw, bool) else None
    if type_id is None:
        raise validation_error(
            f"associationTypeId {raw!r} is not an association type id: use a typeId the labels API listed.",
            context={"associationTypeId": [str(raw)]},
        )
    return type_id


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_LABEL_LENGTH:
        raise validation_error(
            f"`{key}` is required: a non-empty text of at most {MAX_LABEL_LENGTH} characters.",
            context={key: [str(value)]},
        )
    return value
