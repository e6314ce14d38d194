"""A portal's catalog: its object types and their property definitions, cached per schema version.

Definitions live in the database (seeded from HubSpot's defaults when a portal is created), so the
Properties API and record validation read one source. The cache is keyed by the portal's
`schema_version`, which every definition change bumps, so a worker never validates against stale
definitions another worker has changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from localspot.crm.definitions import ObjectType, PropertyDefinition, TypeSchema
from localspot.crm.errors import unknown_object_type
from localspot.crm.timestamps import iso_from_ms


@cache
def _data(name: str) -> Any:
    return json.loads(resources.files("localspot.data").joinpath(name).read_text())


@cache
def standard_types() -> tuple[ObjectType, ...]:
    return tuple(ObjectType.from_data(d) for d in _data("object_types.json"))


def complete_property(partial: dict[str, Any], created_ms: int, hubspot_defined: bool) -> dict[str, Any]:
    """A full `Property` in HubSpot's wire form from the few fields a definition must give."""
    read_only = bool(partial.get("readOnlyValue") or partial.get("calculated"))
    wire: dict[str, Any] = {
        "name": partial["name"],
        "label": partial.get("label") or partial["name"],
        "type": partial["type"],
        "fieldType": partial["fieldType"],
        "description": partial.get("description") or "",
        "groupName": partial["groupName"],
        "options": [complete_option(o, i) for i, o in enumerate(partial.get("options") or [])],
        "displayOrder": partial.get("displayOrder", -1),
        "calculated": bool(partial.get("calculated")),
        "externalOptions": bool(partial.get("externalOptions")),
        "hasUniqueValue": bool(partial.get("hasUniqueValue")),
        "hidden": bool(partial.get("hidden")),
        "formField": bool(partial.get("formField", not read_only)),
        "dataSensitivity": partial.get("dataSensitivity", "non_sensitive"),
        "modificationMetadata": {
            "archivable": not hubspot_defined,
            "readOnlyDefinition": hubspot_defined,
            "readOnlyValue": read_only,
        },
        "createdAt": iso_from_ms(created_ms),
        "updatedAt": iso_from_ms(created_ms),
        "archived": False,
    }
    if hubspot_defined:
        wire["hubspotDefined"] = True
    for key in ("referencedObjectType", "calculationFormula", "numberDisplayHint", "showCurrencySymbol"):
        if key in partial:
            wire[key] = partial[key]
    return wire


def complete_option(option: dict[str, Any], index: int) -> dict[str, Any]:
    return {
        "label": option.get("label", option["value"]),
        "value": option["value"],
        "description": option.get("description", ""),
        "displayOrder": option.get("displayOrder", index),
        "hidden": bool(option.get("hidden", False)),
    }


def default_definitions(created_ms: int) -> list[tuple[str, dict[str, Any]]]:
    """HubSpot's default properties of every standard type, as (object type id, definition)."""
    data = _data("default_properties.json")["properties"]
    return [(tid, complete_property(p, created_ms, True)) for tid, props in data.items() for p in props]


def default_groups() -> list[tuple[str, dict[str, Any]]]:
    data = _data("default_properties.json")["groups"]
    return [(tid, {**g, "archived": False}) for tid, groups in data.items() for g in groups]


# What a custom object's record reads return without `properties` (HubSpot's default for custom objects).
CUSTOM_DEFAULT_PROPERTIES = ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")


def custom_type(schema: dict[str, Any]) -> ObjectType:
    """A custom object type from its stored schema. It answers to its objectTypeId, `p_{name}` and its
    fullyQualifiedName `p{portalId}_{name}`, never to the bare name (HubSpot dropped that in 2025)."""
    return ObjectType(
        object_type_id=schema["objectTypeId"],
        name=schema["fullyQualifiedName"],
        singular=schema["fullyQualifiedName"],
        labels=schema["labels"],
        default_properties=CUSTOM_DEFAULT_PROPERTIES,
        required_properties=tuple(schema["requiredProperties"]),
        primary_display_property=schema.get("primaryDisplayProperty"),
        searchable_properties=tuple(schema["searchableProperties"]),
        mergeable=True,  # HubSpot's custom objects API has `/{objectType}/merge`
        custom=True,
        aliases=(f"p_{schema['name']}",),
    )


@dataclass
class Catalog:
    """Object types and their schemas, as one portal sees them at one schema version."""

    portal_id: int
    version: int
    schemas: dict[str, TypeSchema]
    by_name: dict[str, ObjectType]

    @classmethod
    def build(
        cls,
        portal_id: int,
        version: int,
        definitions: list[tuple[str, dict[str, Any]]],
        custom_schemas: Iterable[dict[str, Any]] = (),
    ) -> Catalog:
        types = [*standard_types(), *(custom_type(s) for s in custom_schemas)]
        schemas = {ot.object_type_id: TypeSchema(ot, {}) for ot in types}
        for type_id, wire in definitions:
            if type_id in schemas:
                schemas[type_id].properties[wire["name"]] = PropertyDefinition.from_wire(wire)
        by_name = {name.lower(): ot for ot in types for name in ot.names}
        return cls(portal_id, version, schemas, by_name)

    def resolve(self, object_type: str) -> TypeSchema:
        """A path's `{objectType}`: plural or singular name or objectTypeId (custom types: see `custom_type`),
        in any letter case."""
        found = self.by_name.get(object_type.lower())
        if found is None:
            raise unknown_object_type(object_type)
        return self.schemas[found.object_type_id]
