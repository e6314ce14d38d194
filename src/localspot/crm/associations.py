"""Association types and the inline associations of batch create.

HubSpot-defined type ids (task→contact 204, …) come from `data/association_types.json`, generated from
the official Python SDK's enum; a portal adds its own (USER_DEFINED labels) in the store, and
`AssociationTypes` answers for both. Each association is stored in both directions, so a record's
associations read the same from either end.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from localspot.crm.catalog import Catalog, _data
from localspot.crm.definitions import ObjectType, parse_record_id
from localspot.crm.errors import HubSpotError, validation_error
from localspot.store.base import AssociationLabelRow, AssociationRow

CATEGORIES = {"HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED", "WORK"}
# The labels v4 shows for HubSpot-defined types; every other HubSpot-defined type is unlabeled (null).
HUBSPOT_LABELS = {13: "Parent Company", 14: "Child Company"}
PRIMARY_LABEL = "Primary"


@dataclass(frozen=True)
class AssociationType:
    association_type_id: int
    category: str
    label: str  # what v3 record reads show as `type`: `task_to_contact`, or a USER_DEFINED label's name
    from_object_type_id: str
    to_object_type_id: str
    inverse_type_id: int | None
    display_label: str | None = None  # the v4 and labels-API `label`: null for unlabeled types
    primary: bool = False


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
            PRIMARY_LABEL if d["primary"] else HUBSPOT_LABELS.get(d["associationTypeId"]),
            d["primary"],
        )
        for d in _data("association_types.json")["types"]
    }


@cache
def _hubspot_defined_by_pair() -> dict[tuple[str, str], list[AssociationType]]:
    out: dict[tuple[str, str], list[AssociationType]] = {}
    for t in hubspot_defined().values():
        out.setdefault((t.from_object_type_id, t.to_object_type_id), []).append(t)
    return out


def portal_type(row: AssociationLabelRow) -> AssociationType:
    return AssociationType(
        row.association_type_id,
        row.association_category,
        row.name or str(row.association_type_id),
        row.from_object_type_id,
        row.to_object_type_id,
        row.inverse_type_id,
        row.label,
    )


class AssociationTypes:
    """The association types one portal can use: HubSpot's, plus the portal's own. The portal's are read
    from the store only when a request meets a type that is not HubSpot-defined, so the hot path (batch
    create with HubSpot-defined types) costs no extra query."""

    def __init__(self, tx: Any) -> None:
        self._tx = tx
        self._portal: list[AssociationType] | None = None

    def portal_types(self) -> list[AssociationType]:
        if self._portal is None:
            self._portal = [portal_type(row) for row in self._tx.load_association_labels()]
        return self._portal

    def find(self, from_object_type_id: str, type_id: int) -> AssociationType | None:
        """The type with this id, preferably in the direction leaving `from_object_type_id` (an unpaired
        label has one id for both directions)."""
        found = hubspot_defined().get(type_id)
        if found is not None:
            return found
        same_id = [t for t in self.portal_types() if t.association_type_id == type_id]
        leaving = [t for t in same_id if t.from_object_type_id == from_object_type_id]
        return (leaving or same_id or [None])[0]

    def between(self, from_object_type_id: str, to_object_type_id: str) -> list[AssociationType]:
        pair = (from_object_type_id, to_object_type_id)
        own = [t for t in self.portal_types() if (t.from_object_type_id, t.to_object_type_id) == pair]
        return _hubspot_defined_by_pair().get(pair, []) + own

    def default_between(self, from_object_type_id: str, to_object_type_id: str) -> AssociationType | None:
        """HubSpot's "default" (most generic) type of a pair: its unlabeled HubSpot-defined type
        (contact→company 279, company→company 450), or for a custom object the unlabeled type its
        schema association defined."""
        pair = (from_object_type_id, to_object_type_id)
        candidates = _hubspot_defined_by_pair().get(pair) or self.between(*pair)
        unlabeled = [t for t in candidates if t.display_label is None]
        return min(unlabeled, key=lambda t: t.association_type_id, default=None)

    def v3_type(self, from_object_type_id: str, type_id: int) -> str:
        found = self.find(from_object_type_id, type_id)
        return found.label if found else str(type_id)


@dataclass(frozen=True)
class Pair:
    """The two object types of an associations path, `/{fromObjectType}/.../{toObjectType}`."""

    from_type: ObjectType
    to_type: ObjectType

    @property
    def from_id(self) -> str:
        return self.from_type.object_type_id

    @property
    def to_id(self) -> str:
        return self.to_type.object_type_id


def pair(catalog: Catalog, from_object_type: str, to_object_type: str) -> Pair:
    return Pair(catalog.resolve(from_object_type).object_type, catalog.resolve(to_object_type).object_type)


@dataclass(frozen=True)
class InlineAssociation:
    """One `{to: {id}, types: [...]}` entry of a create input, resolved to a target type and id."""

    to_object_type_id: str
    to_id: int
    types: tuple[AssociationType, ...]


def parse_inline(from_object_type_id: str, raw: Any, types: AssociationTypes) -> list[InlineAssociation]:
    """Validate an input's `associations`; missing or `[]` means none (SDKs send either)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise validation_error("associations must be a list of {to: {id}, types: [...]} objects.")
    return [parse_association(from_object_type_id, item, types) for item in raw]


def parse_association(from_object_type_id: str, item: Any, known: AssociationTypes) -> InlineAssociation:
    """One `{to: {id}, types: [AssociationSpec]}` (inline in a create, or a v4 batch input)."""
    if not isinstance(item, dict) or not isinstance(item.get("to"), dict):
        raise validation_error("Each association needs a `to` object with the target record's `id`.")
    to_id = association_record_id(item["to"].get("id"))
    types = item.get("types")
    if not isinstance(types, list) or not types:
        raise validation_error("Each association needs a non-empty `types` list of association specs.")
    resolved = tuple(_association_type(from_object_type_id, spec, known) for spec in types)
    targets = {t.to_object_type_id for t in resolved}
    if len(targets) > 1:
        raise validation_error("All types of one association must point to the same object type.")
    return InlineAssociation(resolved[0].to_object_type_id, to_id, resolved)


def association_record_id(raw: Any) -> int:
    text = str(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
    record_id = parse_record_id(text)
    if record_id is None:
        raise validation_error(
            f"Association record id {raw!r} is not a record id: use the numeric id of an existing record.",
            context={"id": [str(raw)]},
        )
    return record_id


def _association_type(from_object_type_id: str, spec: Any, known: AssociationTypes) -> AssociationType:
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
    found = known.find(from_object_type_id, type_id) if isinstance(type_id, int) else None
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
