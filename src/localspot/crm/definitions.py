"""Object types and property definitions: what a portal's records may hold.

A `PropertyDefinition` keeps HubSpot's wire form (`wire`) next to the few facts validation needs on the
hot path, so a batch of 100 records never re-reads dictionaries to learn a property's type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

# Properties whose values LocalSpot derives from the record itself rather than storing them.
SYSTEM_VALUES = {
    "hs_object_id": "id",
    "hs_createdate": "created_at",
    "createdate": "created_at",
    "hs_lastmodifieddate": "updated_at",
    "lastmodifieddate": "updated_at",
}

# Unique values are indexed by the store (`unique_values.value`, 1000 characters), so they are capped.
MAX_UNIQUE_VALUE_LENGTH = 1000

# Record ids are the store's signed 64-bit keys; a larger number can name no record.
MAX_RECORD_ID = 2**63 - 1


def ascii_int(text: str, max_digits: int = 19) -> int | None:
    """An integer written with ASCII digits and an optional `-`, or None.

    The one place client text becomes an int: `int()` also takes other Unicode digits (`"²".isdigit()`
    is true) and refuses more than 4,300 digits, and either would otherwise surface as a 500."""
    digits = text[1:] if text[:1] == "-" else text
    if not digits or len(digits) > max_digits or not (digits.isascii() and digits.isdigit()):
        return None
    return int(text)


def parse_record_id(raw: str) -> int | None:
    """A record id as paths and bodies send it, or None."""
    value = ascii_int(raw) if not raw.startswith("-") else None
    return value if value is not None and value <= MAX_RECORD_ID else None


PROPERTY_TYPES = {"bool", "date", "datetime", "enumeration", "number", "phone_number", "string"}
FIELD_TYPES_BY_TYPE = {
    "string": {"text", "textarea", "file", "html", "phonenumber", "calculation_equation"},
    "number": {"number", "calculation_equation"},
    "date": {"date"},
    "datetime": {"date"},
    "enumeration": {"select", "radio", "checkbox", "booleancheckbox", "calculation_equation"},
    "bool": {"booleancheckbox", "calculation_equation"},
    "phone_number": {"phonenumber", "text"},
}


@dataclass(frozen=True)
class PropertyDefinition:
    name: str
    type: str
    field_type: str
    options: frozenset[str]
    has_unique_value: bool
    read_only_value: bool
    external_options: bool
    wire: dict[str, Any]

    @property
    def multi_select(self) -> bool:
        return self.type == "enumeration" and self.field_type == "checkbox"

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> PropertyDefinition:
        meta = wire.get("modificationMetadata") or {}
        return cls(
            name=wire["name"],
            type=wire["type"],
            field_type=wire["fieldType"],
            options=frozenset(o["value"] for o in wire.get("options") or ()),
            has_unique_value=bool(wire.get("hasUniqueValue")),
            read_only_value=bool(meta.get("readOnlyValue")) or bool(wire.get("calculated")),
            external_options=bool(wire.get("externalOptions")),
            wire=wire,
        )


@dataclass(frozen=True)
class ObjectType:
    object_type_id: str
    name: str
    singular: str
    labels: dict[str, str]
    default_properties: tuple[str, ...] = ()
    required_properties: tuple[str, ...] = ()
    primary_display_property: str | None = None
    searchable_properties: tuple[str, ...] = ()
    mergeable: bool = False
    custom: bool = False
    aliases: tuple[str, ...] = field(default=())

    @property
    def names(self) -> tuple[str, ...]:
        """Every spelling a path may use for this type (compared lower-cased)."""
        return (self.object_type_id, self.name, self.singular, *self.aliases)

    @classmethod
    def from_data(cls, data: dict[str, Any], **extra: Any) -> ObjectType:
        return cls(
            object_type_id=data["objectTypeId"],
            name=data["name"],
            singular=data.get("singular", data["name"]),
            labels=data.get("labels") or {},
            default_properties=tuple(data.get("defaultProperties") or ()),
            required_properties=tuple(data.get("requiredProperties") or ()),
            primary_display_property=data.get("primaryDisplayProperty"),
            searchable_properties=tuple(data.get("searchableProperties") or ()),
            mergeable=bool(data.get("mergeable")),
            **extra,
        )


@dataclass
class TypeSchema:
    """One object type with its current property definitions."""

    object_type: ObjectType
    properties: dict[str, PropertyDefinition]
    # What this catalog version made of values already seen, by (name, value as sent): see
    # `values.check_value`. A definition change builds a new catalog, and with it an empty memo.
    normalized: dict[tuple[str, type, Any], Any] = field(default_factory=dict, repr=False, compare=False)
    # Properties whose valid text is stored exactly as sent, built once per catalog version by
    # `values.verbatim_properties`: None admits any text, a number text up to that length, a set only
    # those options.
    verbatim: dict[str, frozenset[str] | int | None] | None = field(default=None, repr=False, compare=False)

    @property
    def unique_properties(self) -> list[PropertyDefinition]:
        return [p for p in self.properties.values() if p.has_unique_value]

    @cached_property
    def unique_names(self) -> frozenset[str]:
        """Properties whose values name one record: `hasUniqueValue` ones, and a contact's email.

        Computed once per catalog version: the write path asks this for every value of every input."""
        names = {p.name for p in self.properties.values() if p.has_unique_value}
        if self.object_type.object_type_id == "0-1" and "email" in self.properties:
            names.add("email")
        return frozenset(names)

    @cached_property
    def unique_order(self) -> tuple[str, ...]:
        """`unique_names` in a fixed order, for the loops over them: which of two taken values an input
        is refused for, and the order of claims, do not depend on the process's string hashing."""
        return tuple(sorted(self.unique_names))

    @cached_property
    def system_values(self) -> tuple[tuple[str, str], ...]:
        """(property name, kind) of the system values this type defines (SYSTEM_VALUES): every record in a
        batch write's answer carries them, so which are defined is looked up once per catalog version."""
        return tuple((name, kind) for name, kind in SYSTEM_VALUES.items() if name in self.properties)

    @cached_property
    def multi_select_names(self) -> frozenset[str]:
        """Multi-select properties: the one kind whose stored value may depend on the record's current one
        (an appended selection), so it cannot be normalized before the record is read."""
        return frozenset(p.name for p in self.properties.values() if p.multi_select)

    def identity_property(self, name: str) -> PropertyDefinition | None:
        """A property that may name a record in upsert/read-by-idProperty: unique, or a contact's email."""
        return self.properties[name] if name in self.unique_names else None

    def is_unique(self, name: str) -> bool:
        return name in self.unique_names
