"""Search filters: a HubSpot `Filter` compiled once into a test on stored records.

Values compare by property type: numbers as numbers, dates and datetimes as instants (filter values
in ISO-8601 or epoch milliseconds), everything else case-insensitively. A multi-select value
(`a;b`) matches when any of its options does. Equality on a property with unique values (and a
contact's email) compares the exact stored value, the form the unique-value index holds, so the
indexed and the scanning plan always agree.
"""

from __future__ import annotations

import operator as op
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from localspot.crm.definitions import SYSTEM_VALUES, PropertyDefinition, TypeSchema
from localspot.crm.errors import HubSpotError, validation_error
from localspot.crm.public import system_value
from localspot.crm.timestamps import parse_instant_ms
from localspot.crm.values import FALSE_WORDS, TRUE_WORDS, InvalidValue, as_text, normalize
from localspot.store.base import StoredObject

OPERATORS = (
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
)
# Each negative operator matches exactly the records its positive twin does not, including records
# that hold no value at all.
NEGATIONS = {"NEQ": "EQ", "NOT_IN": "IN", "NOT_HAS_PROPERTY": "HAS_PROPERTY", "NOT_CONTAINS_TOKEN": "CONTAINS_TOKEN"}
ORDERINGS = {"LT": op.lt, "LTE": op.le, "GT": op.gt, "GTE": op.ge}
WORD_PIECES = re.compile(r"[^\W_]+")
Test = Callable[[StoredObject], bool]


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _bool(text: str) -> str | None:
    word = text.strip().lower()
    return "true" if word in TRUE_WORDS else "false" if word in FALSE_WORDS else None


# How a value of each property type compares; anything else compares as lower-cased text.
COMPARABLE: dict[str, Callable[[str], Any]] = {
    "number": _number,
    "datetime": parse_instant_ms,
    "date": parse_instant_ms,
    "bool": _bool,
}


def comparable(prop: PropertyDefinition, text: str) -> Any:
    """The value to compare and sort by; None when the text is no value of the property's type."""
    convert = COMPARABLE.get(prop.type)
    return convert(text) if convert else text.lower()


@dataclass(frozen=True)
class Field:
    """One property as search reads it: system values come from the record's columns, not its JSON."""

    prop: PropertyDefinition
    exact: bool  # equality compares the stored value exactly (unique values, contact email)
    system: str | None  # which column a system property (SYSTEM_VALUES) comes from

    def text(self, record: StoredObject) -> str | None:
        return system_value(self.system, record) if self.system else record.properties.get(self.prop.name)

    def sort_value(self, record: StoredObject) -> Any:
        if self.system:
            return record.id if self.system == "id" else getattr(record, self.system)
        text = record.properties.get(self.prop.name)
        return None if text is None else comparable(self.prop, text)

    def values(self, record: StoredObject) -> list[Any]:
        """Every comparable value the record holds: a multi-select holds one per chosen option."""
        if self.system or not self.prop.multi_select:
            value = self.sort_value(record)
            return [] if value is None else [value]
        text = record.properties.get(self.prop.name)
        return [comparable(self.prop, option) for option in text.split(";")] if text else []


def field_of(schema: TypeSchema, name: Any, what: str = "filter") -> Field:
    prop = schema.properties.get(name) if isinstance(name, str) else None
    if prop is None:
        type_name = schema.object_type.name
        raise validation_error(
            f"Cannot {what} on property {name!r}: {type_name} have no such property. "
            f"GET /crm/v3/properties/{type_name} lists the properties you can use.",
            context={"propertyName": [str(name)]},
        )
    system = SYSTEM_VALUES.get(prop.name)
    return Field(prop, exact=schema.is_unique(prop.name) and system is None, system=system)


@dataclass(frozen=True)
class Filter:
    field: Field
    operator: str
    test: Test
    index_keys: tuple[str, ...] | None = None  # EQ/IN on hs_object_id or a unique property: index lookups


def compile_filter(schema: TypeSchema, raw: Any, where: str) -> Filter:
    if not isinstance(raw, dict):
        raise validation_error(f"{where} must be an object with propertyName, operator and value(s).")
    operator = raw.get("operator")
    if operator not in OPERATORS:
        raise validation_error(
            f"{where}.operator {operator!r} is not a search operator; use one of {', '.join(OPERATORS)}.",
            context={"operator": [str(operator)]},
        )
    field = field_of(schema, raw.get("propertyName"))
    positive = NEGATIONS.get(operator, operator)
    if positive in ("EQ", "IN"):
        targets = _targets(field, positive, raw, where)
        test, keys = _equality_test(field, targets), _index_keys(field, targets)
    else:
        test, keys = _positive_test(field, positive, raw, where), None
    if positive != operator:
        return Filter(field, operator, lambda r: not test(r))
    return Filter(field, operator, test, keys)


def _positive_test(field: Field, operator: str, raw: dict[str, Any], where: str) -> Test:
    if operator == "HAS_PROPERTY":
        return lambda r: bool(field.text(r))
    if operator == "CONTAINS_TOKEN":
        words = token_test(_value(raw, "value", where))
        if words is None:
            raise validation_error(f"{where} (CONTAINS_TOKEN) needs a `value` with at least one word.")
        return lambda r: words(field.text(r))
    low = _comparable(field, _value(raw, "value", where), where)
    if operator == "BETWEEN":
        high = _comparable(field, _value(raw, "highValue", where), where)
        return lambda r: any(low <= v <= high for v in field.values(r))
    compare = ORDERINGS[operator]
    return lambda r: any(compare(v, low) for v in field.values(r))


def _equality_test(field: Field, targets: set[Any]) -> Test:
    if field.exact:
        return lambda r: field.text(r) in targets
    return lambda r: any(v in targets for v in field.values(r))


def _targets(field: Field, operator: str, raw: dict[str, Any], where: str) -> set[Any]:
    texts = [_value(raw, "value", where)] if operator == "EQ" else _values(raw, where)
    if field.exact:
        return {k for k in (_exact(field.prop, t, where) for t in texts) if k is not None}
    return {_comparable(field, t, where) for t in texts}


def _index_keys(field: Field, targets: set[Any]) -> tuple[str, ...] | None:
    """What the unique-value index (stored values) or the primary key (record ids) can look up."""
    if field.exact:
        return tuple(targets)
    if field.system == "id":
        # Only values that could be record ids (int() of a huge exponent would never finish well).
        return tuple(str(int(v)) for v in targets if v == v.to_integral_value() and 0 <= v.adjusted() <= 18)
    return None


def _value(raw: dict[str, Any], key: str, where: str) -> str:
    if raw.get(key) is None:
        raise validation_error(f"{where} ({raw.get('operator')}) needs `{key}`.", context={key: ["missing"]})
    return _text(raw[key], f"{where}.{key}")


def _values(raw: dict[str, Any], where: str) -> list[str]:
    values = raw.get("values")
    if not isinstance(values, list) or not values:
        raise validation_error(
            f"{where} ({raw.get('operator')}) needs `values`, a non-empty list.", context={"values": ["missing"]}
        )
    return [_text(v, f"{where}.values") for v in values]


def _text(raw: Any, where: str) -> str:
    try:
        return as_text(raw)
    except InvalidValue:
        raise validation_error(f"{where} must be a string, number or boolean.") from None


def _comparable(field: Field, text: str, where: str) -> Any:
    value = comparable(field.prop, text)
    if value is None:
        raise _bad_value(field.prop, text, where)
    return value


def _exact(prop: PropertyDefinition, text: str, where: str) -> str | None:
    try:
        return normalize(prop, text, None)
    except InvalidValue:
        raise _bad_value(prop, text, where) from None


def _bad_value(prop: PropertyDefinition, text: str, where: str) -> HubSpotError:
    return validation_error(
        f"{where}: {text!r} is not a valid {prop.type} value for property {prop.name}.",
        context={"propertyName": [prop.name]},
    )


# --- tokens: CONTAINS_TOKEN and the free-text query ---------------------------------------------------


def tokens(text: str) -> set[str]:
    """A value's tokens: its whitespace-separated words and the letter/digit runs inside them, lower-cased
    (`Jane.Doe@Example.com` holds `jane.doe@example.com`, `jane`, `doe`, `example`, `com`)."""
    lowered = text.lower()
    return set(lowered.split()) | set(WORD_PIECES.findall(lowered))


def token_test(value: str) -> Callable[[str | None], bool] | None:
    """Every word of the value must match a token; a leading or trailing `*` is a wildcard. None when
    the value has no word to look for."""
    words = value.lower().split()
    if not words:
        return None
    matches = _words_test(words)
    return lambda text: bool(text) and matches(text.lower())


def query_test(fields: list[Field], query: str) -> Test:
    """`query`: each word is a prefix of some token of some searchable property (case-insensitive)."""
    matches = _words_test([w + "*" for w in query.lower().split()])

    def test(record: StoredObject) -> bool:
        texts = (f.text(record) for f in fields)
        return matches("\n".join(t for t in texts if t).lower())

    return test


def _words_test(words: list[str]) -> Callable[[str], bool]:
    """A test on lower-cased text: every word matches one of its tokens. A substring check turns away
    texts lacking a word's letters before any is split into tokens (most records, on a scan)."""
    tests = [_word_test(w) for w in words]
    needles = [n for w in words for n in _needles(w)]

    def test(lowered: str) -> bool:
        if not all(n in lowered for n in needles):
            return False
        found = tokens(lowered)
        return bool(found) and all(t(found) for t in tests)

    return test


def _needles(word: str) -> list[str]:
    """Substrings any text matching the word contains."""
    core = word.strip("*")
    if word.startswith("*") or word.endswith("*"):
        return [core] if core else []
    return WORD_PIECES.findall(core) or [core]


def _word_test(word: str) -> Callable[[set[str]], bool]:
    core = word.strip("*")
    starts, ends = word.startswith("*"), word.endswith("*")
    if starts and ends:
        return lambda found: any(core in t for t in found)
    if starts:
        return lambda found: any(t.endswith(core) for t in found)
    if ends:
        return lambda found: any(t.startswith(core) for t in found)
    pieces = WORD_PIECES.findall(core)
    return lambda found: core in found or (bool(pieces) and all(p in found for p in pieces))
