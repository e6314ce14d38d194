"""Association types and the inline associations of batch create.

HubSpot-defined type ids (task→contact 204, …) come from `data/association_types.json`, generated from
the official Python SDK's enum. Each association is stored in both directions, so a record's
associations read the same from either end.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from localspot.crm.catalog import _data
from localspot.crm.definitions import parse_record_id
from localspot.crm.errors import HubSpotError, validation_error
from localspot.store.base import AssociationRow

CATEGORIES = {"HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED", "WORK"}


@dataclass(frozen=True)
class AssociationType:
    association_type_id: int
    category: str
    label: str
    from_object_type_id: str
    to_object_type_id: str
    inverse_type_id: int | None


@cache
def hubspot_defined() -> dict[int, AssociationType]:
    return {
        d["associationTypeId"]: AssociationType(
            d["associationTypeId"],
            d["category"],
            d["label"],
            d["fromObjectTypeId"],
            d["toObjectTypeId"],
            d["inverseTypeId"],
        )
        for d in _data("association_types.json")["types"]
    }


@dataclass(frozen=True)
class InlineAssociation:
    """One `{to: {id}, types: [...]}` entry of a create input, resolved to a target type and id."""

    to_object_type_id: str
    to_id: int
    types: tuple[AssociationType, ...]


def parse_inline(from_object_type_id: str, raw: Any) -> list[InlineAssociation]:
    """Validate an input's `associations`; missing or `[]` means none (SDKs send either)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise validation_error("associations must be a list of {to: {id}, types: [...]} objects.")
    return [_parse_one(from_object_type_id, item) for item in raw]


def _parse_one(from_object_type_id: str, item: Any) -> InlineAssociation:
    if not isinstance(item, dict) or not isinstance(item.get("to"), dict):
        raise validation_error("Each association needs a `to` object with the target record's `id`.")
    to_id = _record_id(item["to"].get("id"))
    types = item.get("types")
    if not isinstance(types, list) or not types:
        raise validation_error("Each association needs a non-empty `types` list of association specs.")
    resolved = tuple(_association_type(from_object_type_id, spec) for spec in types)
    targets = {t.to_object_type_id for t in resolved}
    if len(targets) > 1:
        raise validation_error("All types of one association must point to the same object type.")
    return InlineAssociation(resolved[0].to_object_type_id, to_id, resolved)


def _record_id(raw: Any) -> int:
    text = str(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
    record_id = parse_record_id(text)
    if record_id is None:
        raise validation_error(
            f"Association target id {raw!r} is not a record id: use the numeric id of an existing record.",
            context={"id": [str(raw)]},
        )
    return record_id


def _association_type(from_object_type_id: str, spec: Any) -> AssociationType:
    if not isinstance(spec, dict):
        raise validation_error("Each association type needs associationCategory and associationTypeId.")
    category = spec.get("associationCategory")
    type_id = spec.get("associationTypeId")
    if category not in CATEGORIES:
        raise validation_error(
            f"associationCategory {category!r} is not one of {sorted(CATEGORIES)}.",
            context={"associationCategory": [str(category)]},
        )
    if isinstance(type_id, str) and type_id.isascii() and type_id.isdigit():
        type_id = int(type_id)  # clients send "204" as often as 204; HubSpot takes both
    found = hubspot_defined().get(type_id) if isinstance(type_id, int) else None
    if found is None or found.category != category:
        raise _invalid_type(category, type_id)
    if found.from_object_type_id != from_object_type_id:
        raise validation_error(
            f"invalid from object type {from_object_type_id} for associations to be created. "
            f"expected: {found.from_object_type_id}",
            context={"associationTypeId": [str(type_id)]},
        )
    return found


def _invalid_type(category: Any, type_id: Any) -> HubSpotError:
    return validation_error(
        f"One or more associations are invalid: {category} association type {type_id!r} does not exist.",
        context={"associationTypeId": [str(type_id)]},
    )


def missing_target(target: InlineAssociation) -> HubSpotError:
    return validation_error(
        f"One or more associations are invalid: {target.to_object_type_id} record {target.to_id} does not exist.",
        context={"toObjectId": [str(target.to_id)], "toObjectTypeId": [target.to_object_type_id]},
    )


def rows_both_ways(from_object_type_id: str, from_id: int, assoc: InlineAssociation) -> list[AssociationRow]:
    rows = []
    for t in assoc.types:
        rows.append(
            AssociationRow(
                from_object_type_id,
                from_id,
                t.to_object_type_id,
                assoc.to_id,
                t.category,
                t.association_type_id,
            )
        )
        if t.inverse_type_id is not None:
            rows.append(
                AssociationRow(
                    t.to_object_type_id,
                    assoc.to_id,
                    from_object_type_id,
                    from_id,
                    t.category,
                    t.inverse_type_id,
                )
            )
    return rows


def label_of(association_type_id: int) -> str | None:
    found = hubspot_defined().get(association_type_id)
    return found.label if found else None
