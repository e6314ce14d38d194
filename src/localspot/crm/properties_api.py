"""The Properties API: property definitions and groups of an object type.

Rules follow HubSpot: names are lower-case identifiers, `type`/`fieldType` must be a valid pair,
`hasUniqueValue` is set at creation only and allowed on at most 10 properties per type, HubSpot-defined
properties cannot be archived or redefined, and an existing name answers 409.
"""

from __future__ import annotations

import re
from typing import Any

from localspot.crm.batch import require_object
from localspot.crm.catalog import complete_option, complete_property
from localspot.crm.definitions import FIELD_TYPES_BY_TYPE, PROPERTY_TYPES, TypeSchema
from localspot.crm.errors import HubSpotError, not_found, validation_error
from localspot.crm.timestamps import iso_from_ms, now_ms

# Names are stored in 200-character key columns; a longer name could not be stored on PostgreSQL.
NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,199}")  # fullmatch: `$` would let a trailing newline in
TEXT_FIELDS = ("label", "type", "fieldType", "groupName")
MAX_UNIQUE_PROPERTIES = 10
EDITABLE = (
    "label",
    "description",
    "groupName",
    "displayOrder",
    "hidden",
    "formField",
    "type",
    "fieldType",
    "options",
)


def already_exists(message: str) -> HubSpotError:
    return HubSpotError(message, status=409, category="OBJECT_ALREADY_EXISTS")


def list_properties(tx: Any, schema: TypeSchema, archived: bool) -> dict[str, Any]:
    if not archived:
        return {"results": [p.wire for p in schema.properties.values()]}
    rows = tx.load_property_definitions(archived=True)
    return {"results": [d for tid, d in rows if tid == schema.object_type.object_type_id]}


def get_property(tx: Any, schema: TypeSchema, name: str, archived: bool) -> dict[str, Any]:
    row = tx.property_definition_row(schema.object_type.object_type_id, name)
    if row is None or row[1] != archived:
        raise property_not_found(schema, name)
    return row[0]


def property_not_found(schema: TypeSchema, name: str) -> HubSpotError:
    return not_found(
        f"Unable to find property {name} for object type {schema.object_type.object_type_id}",
        context={"propertyName": [name]},
    )


def create_property(tx: Any, schema: TypeSchema, body: Any) -> dict[str, Any]:
    body = _definition_body(body)
    _check_new_name(tx, schema, body.get("name"))
    for key in TEXT_FIELDS:
        if not isinstance(body.get(key), str) or not body[key]:
            raise validation_error(f"`{key}` is required to create a property.", context={key: ["missing"]})
    _check_types(body["type"], body["fieldType"])
    _check_group(tx, schema, body["groupName"])
    _check_options(body)
    if body.get("hasUniqueValue"):
        _check_unique_allowed(schema, body)
    wire = complete_property(body, now_ms(), hubspot_defined=False)
    tx.insert_property_definitions([(schema.object_type.object_type_id, wire)])
    tx.bump_schema_version()
    return wire


def _definition_body(body: Any) -> dict[str, Any]:
    """A definition or group body; NUL characters are refused anywhere in it, as PostgreSQL cannot store them."""
    body = require_object(body)
    if _holds_nul(body):
        raise validation_error("Text in a property definition cannot contain NUL characters (\\u0000).")
    return body


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def _check_new_name(tx: Any, schema: TypeSchema, name: Any) -> None:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise validation_error(
            f"Property name {name!r} is not valid: use lower-case letters, digits and underscores, "
            "starting with a letter.",
            context={"name": [str(name)]},
        )
    row = tx.property_definition_row(schema.object_type.object_type_id, name)
    if row is not None:
        state = " (archived; restore it or choose another name)" if row[1] else ""
        raise already_exists(f"Property named '{name}' already exists{state}.")


def _check_types(type_: Any, field_type: Any) -> None:
    if type_ not in PROPERTY_TYPES:
        raise validation_error(
            f"type {type_!r} is not one of {sorted(PROPERTY_TYPES)}.", context={"type": [str(type_)]}
        )
    allowed = FIELD_TYPES_BY_TYPE[type_]
    if field_type not in allowed:
        raise validation_error(
            f"fieldType {field_type!r} cannot be used with type {type_}: use one of {sorted(allowed)}.",
            context={"fieldType": [str(field_type)]},
        )


def _check_group(tx: Any, schema: TypeSchema, group: Any) -> None:
    if not tx.group_exists(schema.object_type.object_type_id, group):
        raise validation_error(
            f"Property group {group!r} does not exist for {schema.object_type.name}; create it first.",
            context={"groupName": [str(group)]},
        )


def _check_options(body: dict[str, Any]) -> None:
    options = body.get("options") or []
    if not isinstance(options, list) or not all(_valid_option(o) for o in options):
        raise validation_error("`options` must be a list of {label, value} objects with non-empty values.")
    values = [str(o["value"]) for o in options]
    if len(set(values)) != len(values):
        raise validation_error("Option values must be unique.", context={"options": values})
    if body.get("type") == "enumeration" and not options and body.get("fieldType") != "booleancheckbox":
        raise validation_error("Enumeration properties need at least one option.")
    body["options"] = [{**o, "value": str(o["value"])} for o in options]


def _valid_option(option: Any) -> bool:
    value = option.get("value") if isinstance(option, dict) else None
    return isinstance(value, str | int | float) and not isinstance(value, bool) and str(value) != ""


def _check_unique_allowed(schema: TypeSchema, body: dict[str, Any]) -> None:
    if body["type"] not in ("string", "number"):
        raise validation_error("hasUniqueValue is only available for string and number properties.")
    custom_unique = [p for p in schema.unique_properties if not p.wire.get("hubspotDefined")]
    if len(custom_unique) >= MAX_UNIQUE_PROPERTIES:
        raise validation_error(
            f"{schema.object_type.name} already has {MAX_UNIQUE_PROPERTIES} properties with unique values, "
            "the maximum HubSpot allows.",
            context={"hasUniqueValue": ["limit"]},
        )


def update_property(tx: Any, schema: TypeSchema, name: str, body: Any) -> dict[str, Any]:
    body = _definition_body(body)
    current = get_property(tx, schema, name, archived=False)
    if current.get("hubspotDefined"):
        raise validation_error(f"{name} is a HubSpot-defined property; its definition cannot be changed.")
    if "hasUniqueValue" in body and bool(body["hasUniqueValue"]) != bool(current.get("hasUniqueValue")):
        raise validation_error("hasUniqueValue cannot be changed after a property is created.")
    changes = {k: body[k] for k in EDITABLE if k in body}
    for key in TEXT_FIELDS:
        if key in changes and (not isinstance(changes[key], str) or not changes[key]):
            raise validation_error(f"`{key}` must be a non-empty string.", context={key: [str(changes[key])]})
    merged = {**current, **changes}
    _check_types(merged["type"], merged["fieldType"])
    if "groupName" in changes:
        _check_group(tx, schema, merged["groupName"])
    if "options" in changes:
        _check_options(merged)
        merged["options"] = [complete_option(o, i) for i, o in enumerate(merged["options"])]
    merged["updatedAt"] = iso_from_ms(now_ms())
    tx.replace_property_definition(schema.object_type.object_type_id, merged)
    tx.bump_schema_version()
    return merged


def archive_property(tx: Any, schema: TypeSchema, name: str) -> None:
    current = get_property(tx, schema, name, archived=False)
    if current.get("hubspotDefined"):
        raise validation_error(f"{name} is a HubSpot-defined property and cannot be archived.")
    archived = {**current, "archived": True, "archivedAt": iso_from_ms(now_ms())}
    tx.replace_property_definition(schema.object_type.object_type_id, archived, archived=True)
    tx.bump_schema_version()


def list_groups(tx: Any, schema: TypeSchema) -> dict[str, Any]:
    return {"results": [g for _, g in tx.load_groups(schema.object_type.object_type_id)]}


def create_group(tx: Any, schema: TypeSchema, body: Any) -> dict[str, Any]:
    body = _definition_body(body)
    name, label = body.get("name"), body.get("label")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise validation_error(f"Group name {name!r} is not valid: use lower-case letters, digits and underscores.")
    if not isinstance(label, str) or not label:
        raise validation_error("`label` is required to create a property group.")
    if tx.group_exists(schema.object_type.object_type_id, name):
        raise already_exists(f"Property group named '{name}' already exists.")
    group = {"name": name, "label": label, "displayOrder": body.get("displayOrder", -1), "archived": False}
    tx.insert_groups([(schema.object_type.object_type_id, group)])
    return group
