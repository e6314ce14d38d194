"""Custom object schemas (`/crm-object-schemas/v3/schemas`): portal-defined object types.

A schema is stored as HubSpot's `ObjectTypeDefinition` (one `object_schemas` row); its properties live
with every other property definition and its associations in `association_labels`, so the Properties,
records, search and associations code sees a custom type exactly as it sees a standard one, through the
catalog. Every schema change bumps the portal's schema version first: that holds the portal row, so
concurrent schema writes queue (no two types or association types get one id), and every worker's
catalog cache follows.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from localspot.crm import properties_api as props
from localspot.crm.batch import require_object
from localspot.crm.catalog import complete_property, custom_type
from localspot.crm.definitions import PropertyDefinition, TypeSchema
from localspot.crm.errors import HubSpotError, conflict, not_found, validation_error
from localspot.crm.records import Ctx
from localspot.crm.timestamps import iso_from_ms, now_ms

# HubSpot: letters, digits and underscores, starting with a letter. **Choice:** at most 100 characters.
NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}")
NAME_LISTS = ("requiredProperties", "searchableProperties", "secondaryDisplayProperties")
SCHEMA_ASSOCIATION_CATEGORY = "USER_DEFINED"

# Every custom object has these, set by HubSpot; they are added to the properties a schema defines.
SYSTEM_PROPERTIES = (
    {"name": "hs_object_id", "label": "Record ID", "type": "number", "fieldType": "number", "readOnlyValue": True},
    {"name": "hs_createdate", "label": "Create Date", "type": "datetime", "fieldType": "date", "readOnlyValue": True},
    {
        "name": "hs_lastmodifieddate",
        "label": "Last Modified Date",
        "type": "datetime",
        "fieldType": "date",
        "readOnlyValue": True,
    },
)

# --- create --------------------------------------------------------------------------------------


def create_schema(ctx: Ctx, body: Any) -> dict[str, Any]:
    body = require_object(body)
    ctx.tx.bump_schema_version()
    name = _new_name(ctx, body.get("name"))
    number = ctx.tx.allocate_ids(1)[0]
    now = now_ms()
    definition = {
        "id": str(number),
        "objectTypeId": f"2-{number}",
        "fullyQualifiedName": f"p{ctx.portal_id}_{name}",
        "name": name,
        "labels": _labels(body.get("labels")),
        **_display_settings(body, _primary_from_properties(body)),
        "allowsSensitiveProperties": bool(body.get("allowsSensitiveProperties")),
        "archived": False,
        "createdAt": iso_from_ms(now),
        "updatedAt": iso_from_ms(now),
    }
    _set_description(definition, body)
    properties = _create_properties(ctx, definition, body.get("properties"), now)
    _check_named_properties(definition, {p["name"] for p in properties})
    ctx.tx.insert_object_schema(definition, now)
    for target in dict.fromkeys(_string_list(body, "associatedObjects")):
        _define_association(ctx, definition, target, None, now)
    return _public_schemas(ctx, [definition])[0]


def _new_name(ctx: Ctx, name: Any) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise validation_error(
            f"Object schema name {name!r} is not valid: use letters, digits and underscores (at most 100), "
            "starting with a letter.",
            context={"name": [str(name)]},
        )
    for existing in ctx.tx.load_object_schemas(archived=None):
        if existing["name"].lower() == name.lower():
            raise props.already_exists(_taken_message(existing))
    return name


def _taken_message(existing: dict[str, Any]) -> str:
    message = f"An object schema named '{existing['name']}' already exists ({existing['objectTypeId']})."
    if existing["archived"]:
        message += (
            " It is archived: delete it for good with DELETE /crm-object-schemas/v3/schemas/"
            f"{existing['objectTypeId']}?archived=true to reuse the name."
        )
    return message


def _labels(labels: Any, current: dict[str, str] | None = None) -> dict[str, str]:
    """`labels` with both `singular` and `plural` (a PATCH may send one; the other is kept)."""
    if not isinstance(labels, dict):
        raise validation_error("`labels` is required: an object with `singular` and `plural` labels.")
    merged = {**(current or {}), **{k: labels[k] for k in ("singular", "plural") if k in labels}}
    for key in ("singular", "plural"):
        _text(merged.get(key), f"labels.{key}")
    return {"singular": merged["singular"], "plural": merged["plural"]}


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise validation_error(
            f"`{field}` must be a non-empty string (without NUL characters).", context={field: [str(value)]}
        )
    return value


def _string_list(body: dict[str, Any], field: str) -> list[str]:
    value = body.get(field)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise validation_error(f"`{field}` must be a list of names.", context={field: [str(value)]})
    return value


def _display_settings(body: dict[str, Any], primary: str | None = None) -> dict[str, Any]:
    """The property-naming fields of a create or PATCH body (only those it sends, for a PATCH)."""
    out: dict[str, Any] = {field: _string_list(body, field) for field in NAME_LISTS if field in body}
    primary = body.get("primaryDisplayProperty", primary)
    if primary is not None:
        out["primaryDisplayProperty"] = _text(primary, "primaryDisplayProperty")
    return out


def _primary_from_properties(body: dict[str, Any]) -> str | None:
    """The egg may mark its primary display property on the property itself (`isPrimaryDisplayLabel`)."""
    raw = body.get("properties")
    if not isinstance(raw, list):
        return None
    return next((p.get("name") for p in raw if isinstance(p, dict) and p.get("isPrimaryDisplayLabel")), None)


def _set_description(definition: dict[str, Any], body: dict[str, Any]) -> None:
    if body.get("clearDescription"):
        definition.pop("description", None)
    elif body.get("description") is not None:
        definition["description"] = _text(body["description"], "description")
    for field in NAME_LISTS:
        definition.setdefault(field, [])


def _create_properties(ctx: Ctx, definition: dict[str, Any], raw: Any, now: int) -> list[dict[str, Any]]:
    """The type's group, its system properties, then each defined property through the Properties API's
    own rules (names, type pairs, options, at most 10 unique ones)."""
    if raw is not None and not isinstance(raw, list):
        raise validation_error("`properties` must be a list of property definitions.")
    type_id, group = definition["objectTypeId"], f"{definition['name'].lower()}_information"
    schema = TypeSchema(custom_type(definition), {})
    props.create_group(ctx.tx, schema, {"name": group, "label": f"{definition['labels']['singular']} information"})
    system = [complete_property({**p, "groupName": group}, now, hubspot_defined=True) for p in SYSTEM_PROPERTIES]
    ctx.tx.insert_property_definitions([(type_id, wire) for wire in system])
    created = []
    for wire in system:
        schema.properties[wire["name"]] = PropertyDefinition.from_wire(wire)
    for item in raw or []:
        if not isinstance(item, dict):
            raise validation_error("Each entry of `properties` must be a property definition object.")
        wire = props.create_property(
            ctx.tx, schema, {"type": "string", "fieldType": "text", "groupName": group, **item}
        )
        schema.properties[wire["name"]] = PropertyDefinition.from_wire(wire)
        created.append(wire)
    return system + created


def _check_named_properties(definition: dict[str, Any], known: set[str]) -> None:
    """requiredProperties, searchableProperties and the display properties must name existing properties."""
    named = {field: definition.get(field) or [] for field in NAME_LISTS}
    named["primaryDisplayProperty"] = (
        [definition["primaryDisplayProperty"]] if "primaryDisplayProperty" in definition else []
    )
    for field, names in named.items():
        unknown = [n for n in names if n not in known]
        if unknown:
            raise validation_error(
                f"{field} names properties that {definition['name']} does not have: {', '.join(unknown)}. "
                "Define them in `properties` (or with the Properties API) first.",
                context={field: unknown},
            )


# --- read ----------------------------------------------------------------------------------------


def list_schemas(ctx: Ctx, archived: bool) -> dict[str, Any]:
    return {"results": _public_schemas(ctx, ctx.tx.load_object_schemas(archived=archived))}


def get_schema(ctx: Ctx, object_type: str) -> dict[str, Any]:
    return _public_schemas(ctx, [find_schema(ctx, object_type)])[0]


def batch_read(ctx: Ctx, body: Any) -> dict[str, Any]:
    """**Choice:** inputs naming no schema are left out of `results` (the spec has no error list)."""
    wanted = [name.lower() for name in _string_list(require_object(body), "inputs")]
    found = [d for d in ctx.tx.load_object_schemas() if _names_of(d) & set(wanted)]
    return {"results": _public_schemas(ctx, found)}


def find_schema(ctx: Ctx, object_type: str, archived: bool = False) -> dict[str, Any]:
    """A schema by objectTypeId, `p_{name}` or fullyQualifiedName, in any letter case."""
    wanted = object_type.lower()
    for definition in ctx.tx.load_object_schemas(archived=archived):
        if wanted in _names_of(definition):
            return definition
    state = "archived " if archived else ""
    raise not_found(
        f"Unable to find {state}object schema {object_type}. Name it by objectTypeId (2-…), p_{{name}} or "
        f"fullyQualifiedName (p{ctx.portal_id}_{{name}}).",
        context={"objectType": [object_type]},
    )


def _names_of(definition: dict[str, Any]) -> set[str]:
    return {name.lower() for name in custom_type(definition).names}


def _public_schemas(ctx: Ctx, definitions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """HubSpot's `ObjectSchema`: the definition with its properties and association definitions."""
    type_ids = [d["objectTypeId"] for d in definitions]
    properties = _properties_by_type(ctx, type_ids)
    associations: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in ctx.tx.load_schema_association_types(type_ids) if type_ids else []:
        associations[row["from_object_type_id"]].append(_public_association(row))
    return [
        {**d, "properties": properties[d["objectTypeId"]], "associations": associations[d["objectTypeId"]]}
        for d in definitions
    ]


def _properties_by_type(ctx: Ctx, type_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Live property definitions read in this transaction: the catalog may predate a schema created or
    changed by a transaction that committed while this one waited for the portal row."""
    properties: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for type_id, wire in ctx.tx.load_property_definitions():
        if type_id in type_ids:
            properties[type_id].append(wire)
    return properties


def _public_association(row: dict[str, Any]) -> dict[str, Any]:
    created = iso_from_ms(row["created_at"])
    return {
        "id": str(row["association_type_id"]),
        "fromObjectTypeId": row["from_object_type_id"],
        "toObjectTypeId": row["to_object_type_id"],
        "name": row["name"],
        "createdAt": created,
        "updatedAt": created,
    }


# --- update and delete ---------------------------------------------------------------------------


def update_schema(ctx: Ctx, object_type: str, body: Any) -> dict[str, Any]:
    """PATCH answers HubSpot's `ObjectTypeDefinition` (the schema without properties and associations)."""
    body = require_object(body)
    ctx.tx.bump_schema_version()
    definition = {**find_schema(ctx, object_type), **_display_settings(body)}
    if "labels" in body:
        definition["labels"] = _labels(body["labels"], definition["labels"])
    if "allowsSensitiveProperties" in body:
        definition["allowsSensitiveProperties"] = bool(body["allowsSensitiveProperties"])
    _set_description(definition, body)
    type_id = definition["objectTypeId"]
    _check_named_properties(definition, {p["name"] for p in _properties_by_type(ctx, [type_id])[type_id]})
    definition["updatedAt"] = iso_from_ms(now_ms())
    ctx.tx.replace_object_schema(definition)
    return definition


def delete_schema(ctx: Ctx, object_type: str, archived: bool) -> None:
    """Archive a schema with no live records; `archived=true` then deletes the archived schema for good."""
    ctx.tx.bump_schema_version()
    definition = find_schema(ctx, object_type, archived=archived)
    if archived:
        ctx.tx.purge_object_type(definition["objectTypeId"])
        return
    if ctx.tx.has_live_objects(definition["objectTypeId"]):
        raise conflict(
            f"Object type {definition['objectTypeId']} ({definition['fullyQualifiedName']}) still has records; "
            "a custom object can only be deleted after all its records are archived.",
            context={"objectType": [object_type]},
        )
    now = iso_from_ms(now_ms())
    ctx.tx.replace_object_schema({**definition, "archived": True, "updatedAt": now})


# --- association definitions ----------------------------------------------------------------------


def create_association(ctx: Ctx, object_type: str, body: Any) -> dict[str, Any]:
    body = require_object(body)
    ctx.tx.bump_schema_version()
    definition = find_schema(ctx, object_type)
    if _text(body.get("fromObjectTypeId"), "fromObjectTypeId").lower() not in _names_of(definition):
        raise validation_error(
            f"fromObjectTypeId {body['fromObjectTypeId']} is not the schema's object type "
            f"{definition['objectTypeId']}; define associations from the schema they belong to.",
            context={"fromObjectTypeId": [str(body["fromObjectTypeId"])]},
        )
    name = None if body.get("name") is None else _text(body["name"], "name")
    target = _text(body.get("toObjectTypeId"), "toObjectTypeId")
    return _define_association(ctx, definition, target, name, now_ms())


def _define_association(ctx: Ctx, definition: dict[str, Any], target: str, name: str | None, now: int) -> dict:
    """One association type from the schema's type to `target`, stored with its inverse (next id)."""
    to_type = ctx.catalog.resolve(target).object_type
    from_id, to_id = definition["objectTypeId"], to_type.object_type_id
    name = name or f"{definition['name']}_to_{to_type.singular}".lower()
    for row in ctx.tx.load_schema_association_types([from_id]):
        if row["to_object_type_id"] == to_id and row["name"] == name:
            raise props.already_exists(f"{from_id} already has an association named '{name}' to {to_id}.")
    type_id = ctx.tx.next_association_type_id()
    row = {"association_category": SCHEMA_ASSOCIATION_CATEGORY, "name": name, "label": None}
    ctx.tx.insert_association_types(
        [
            {
                **row,
                "from_object_type_id": from_id,
                "to_object_type_id": to_id,
                "association_type_id": type_id,
                "inverse_type_id": type_id + 1,
            },
            {
                **row,
                "from_object_type_id": to_id,
                "to_object_type_id": from_id,
                "association_type_id": type_id + 1,
                "inverse_type_id": type_id,
            },
        ],
        now,
    )
    created = {"from_object_type_id": from_id, "to_object_type_id": to_id, "association_type_id": type_id}
    return _public_association({**created, "name": name, "created_at": now})


def delete_association(ctx: Ctx, object_type: str, association_identifier: str) -> None:
    ctx.tx.bump_schema_version()
    definition = find_schema(ctx, object_type)
    for row in ctx.tx.load_schema_association_types([definition["objectTypeId"]]):
        if str(row["association_type_id"]) == association_identifier:
            ctx.tx.delete_association_types([row["association_type_id"], row["inverse_type_id"]])
            return
    raise _association_not_found(definition, association_identifier)


def _association_not_found(definition: dict[str, Any], association_identifier: str) -> HubSpotError:
    return not_found(
        f"Object type {definition['objectTypeId']} has no association definition {association_identifier}.",
        context={"associationIdentifier": [association_identifier]},
    )
